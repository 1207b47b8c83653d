// Where files-emulator still differs from Files.com, as this suite finds it.
// A test named here runs as a TODO: its failure is reported but does not fail
// the run, so CI stays green while the emulator catches up (issue 15). Run
// with FILESGW_CONFORMANCE_STRICT=1 to judge every test. Remove an entry as
// soon as its test passes (the spec reporter prints it as a passing TODO).
'use strict';

module.exports = [
  [/^(uploadFile|uploadStream) 0 B: the file has the bytes sent$/,
   'emulator gap (on emulator-fidelity e18e039; Files.com behaviour unverified): for an empty file or stream ' +
   'the SDK PUTs no part and sends {action: "end", ref}; the emulator refuses it ("No part of upload ... was ' +
   'uploaded") where a user expects an empty file'],
  [/^search narrows the listing/,
   'emulator gap (not in issue 15): GET /folders/{path}?search=... ignores search and lists everything'],
  [/^search finds by partial name$/,
   'emulator gap (not in issue 15): GET /users?search=... ignores search'],
];
