// Where files-emulator still differs from Files.com, as this suite finds it.
// A test named here runs as a TODO: its failure is reported but does not fail
// the run, so CI stays green while the emulator catches up (issue 15). Run
// with FILESGW_CONFORMANCE_STRICT=1 to judge every test. Remove an entry as
// soon as its test passes (the spec reporter prints it as a passing TODO).
'use strict';

const uploads = 'emulator gap (issue 15 item 1): POST /files/{path} {action: "put"} answers a File and ' +
    'creates an empty file, where Files.com answers a FileUploadPart (upload_uri, ref, partsize)';

module.exports = [
  [/^(uploadFile|uploadData|uploadStream) .*: the file has the bytes sent$/, uploads],
  [/^uploadData of a string, unicode and space paths/, uploads],
  [/^file\.(copy|move) /, `${uploads} (the test uploads its source file)`],
  [/^delete of a file$/, `${uploads} (the test uploads the file it deletes)`],
  [/^Lock\.create on a file path/, `${uploads} (the test uploads the file it locks)`],
  [/^delete\(\{recursive: true\}\)/,
   'emulator gap (issue 15 item 6): DELETE /files/{path} ignores a JSON body {"recursive": true}'],
  [/not_site_admin/,
   'emulator gap (issue 15 item 5): filter[not_site_admin] refused as an invalid filter field'],
  [/^an undocumented filter field is a BadRequestError$/,
   'emulator gap (issue 15 item 5): filters on model fields outside the documented set are accepted'],
  [/^search narrows the listing/,
   'emulator gap (not in issue 15): GET /folders/{path}?search=... ignores search and lists everything'],
  [/^search finds by partial name$/,
   'emulator gap (not in issue 15): GET /users?search=... ignores search'],
];
