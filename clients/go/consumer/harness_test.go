package main

// Starts files-emulator and files-gateway from a build tree and reaches the
// emulator's control endpoint. The servers listen on port 0 and say where in
// a JSON line on stdout; the rest of their output is drained in the
// background (a full pipe would stall them) and kept for failure reports.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

const readyTimeout = 30 * time.Second

type server struct {
	name  string
	cmd   *exec.Cmd
	ready map[string]any
	mu    sync.Mutex
	tail  []string
	done  chan struct{} // closed when the output ends
}

func (s *server) keep(line string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tail = append(s.tail, line)
	if len(s.tail) > 200 {
		s.tail = s.tail[len(s.tail)-200:]
	}
}

// lastLines gives up to n lines of the server's latest output.
func (s *server) lastLines(n int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	lines := s.tail
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// startServer runs a command until it prints a JSON line that ready accepts.
func startServer(path string, args, env []string, ready func(map[string]any) bool) (*server, error) {
	s := &server{name: filepath.Base(path), done: make(chan struct{})}
	s.cmd = exec.Command(path, args...)
	s.cmd.Env = env
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	s.cmd.Stdout, s.cmd.Stderr = w, w
	if err := s.cmd.Start(); err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	w.Close()
	found := make(chan map[string]any, 1)
	go func() {
		defer close(s.done)
		defer r.Close()
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		waiting := true
		for sc.Scan() {
			line := sc.Text()
			s.keep(line)
			if !waiting {
				continue
			}
			var doc map[string]any
			if json.Unmarshal([]byte(line), &doc) == nil && ready(doc) {
				waiting = false
				found <- doc
			}
		}
		io.Copy(io.Discard, r)
	}()
	select {
	case doc := <-found:
		s.ready = doc
		return s, nil
	case <-s.done:
	case <-time.After(readyTimeout):
	}
	s.stop()
	return nil, fmt.Errorf("%s %s did not become ready:\n%s", path, strings.Join(args, " "), s.lastLines(200))
}

func (s *server) stop() {
	if s.cmd.ProcessState == nil {
		s.cmd.Process.Signal(syscall.SIGTERM)
		exited := make(chan struct{})
		go func() { s.cmd.Wait(); close(exited) }()
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			s.cmd.Process.Kill()
			<-exited
		}
	}
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
	}
}

func startEmulator(buildDir, apiKey string) (*server, error) {
	return startServer(filepath.Join(buildDir, "emulator", "files-emulator"),
		[]string{"--listen", "127.0.0.1:0", "--api-key", apiKey}, os.Environ(),
		func(d map[string]any) bool { _, ok := d["base_url"]; return ok })
}

func startGateway(buildDir, baseURL, apiKey string, extra ...string) (*server, string, error) {
	args := append([]string{"--listen", "127.0.0.1:0", "--base-url", baseURL, "--max-retries", "0"}, extra...)
	s, err := startServer(filepath.Join(buildDir, "server", "files-gateway"), args,
		append(os.Environ(), "FILES_API_KEY="+apiKey),
		func(d map[string]any) bool { return d["msg"] == "listening" })
	if err != nil {
		return nil, "", err
	}
	port, ok := s.ready["port"].(float64)
	if !ok {
		s.stop()
		return nil, "", fmt.Errorf("files-gateway said no port: %v", s.ready)
	}
	return s, fmt.Sprintf("127.0.0.1:%d", int(port)), nil
}

// unusedLoopbackTarget is a loopback address where nothing listens (the port was free a moment ago).
func unusedLoopbackTarget() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// emulatorControl calls POST /__emulator/<what> (faults, reset, ...) with the
// emulator's API key (control endpoints need it) and gives the decoded answer.
func emulatorControl(baseURL, apiKey, what string, body any) (any, error) {
	data, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	client := &http.Client{Timeout: 10 * time.Second}
	req, err := http.NewRequest(http.MethodPost, baseURL+"/__emulator/"+what, bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-FilesAPI-Key", apiKey)
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	text, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("POST /__emulator/%s: HTTP %d %s", what, resp.StatusCode, text)
	}
	var out any
	if len(bytes.TrimSpace(text)) > 0 {
		if err := json.Unmarshal(text, &out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// runCommand runs a program to its end and gives its combined output.
func runCommand(path string, args ...string) (string, error) {
	cmd := exec.Command(path, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		return "", err
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return out.String(), err
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		<-done
		return out.String(), fmt.Errorf("%s did not finish within 60 s", path)
	}
}
