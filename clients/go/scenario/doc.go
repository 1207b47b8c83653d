// Package scenario runs tests/clients/scenario.json with the Go client
// against files-gateway and files-emulator started from a build tree; see
// scenario_test.go.
package scenario
