// Command filesgw-consumer is a service of its own that uses the Go client as
// any Go program does: a fresh module (`go mod init`) that requires
// github.com/files-gateway/files-gateway/clients/go by version from a module
// proxy. consumer-setup.sh makes that module under the build tree (outside
// the source tree) from these files; its tests run the shared client
// scenario (tests/clients/scenario.json, TestScenario) and the Go-only cases
// (resumable uploads, progress, an aborted write, per-call options:
// TestTransfers, TestCallOptions) against a real files-gateway and
// files-emulator.
package main
