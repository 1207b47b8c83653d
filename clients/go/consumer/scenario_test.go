package main

// Runs tests/clients/scenario.json with the Go client against files-gateway
// and files-emulator started from a build tree: one subtest per case
// (TestScenario/<case name>), see tests/clients/README.md for the format.
//
//	cd build/clients/go/consumer && FILESGW_BIN=../../.. \
//	  FILESGW_SCENARIO=../../../../tests/clients/scenario.json \
//	  bin/scenario.test -test.v [-test.run 'TestScenario/user_crud']
//
// Cases are independent, so they run in parallel; a case that uses a
// gateway other than "default" holds it alone for its duration, since those
// gateways exist for cases that disturb gateway-wide state (a 429 pause, a
// slow upstream call).

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/files-gateway/files-gateway/clients/go/files"

	"google.golang.org/grpc/codes"
)

type scenarioFile struct {
	Format   string                    `json:"format"`
	Gateways map[string]map[string]any `json:"gateways"`
	Cases    []scenarioCase            `json:"cases"`
}

type scenarioCase struct {
	Name        string           `json:"name"`
	Description string           `json:"description"`
	Steps       []map[string]any `json:"steps"`
}

var (
	expectKeys = set("fields", "none", "count", "pages", "first_page_count", "sorted_by", "unique",
		"names", "same_as", "text", "max_bytes_received", "error", "persisted_size", "progress_final",
		"progress_calls_min")
	errorKeys = set("class", "is_a", "type", "type_prefix", "grpc_code", "http_status", "title",
		"message_contains", "retry_delay_min")
	ops = map[string]func(*caseRun, map[string]any, map[string]any) (*result, error){
		"call":             (*caseRun).opCall,
		"create_many":      (*caseRun).opCreateMany,
		"list":             (*caseRun).opList,
		"upload_file":      (*caseRun).opUploadFile,
		"download_file":    (*caseRun).opDownloadFile,
		"open_write":       (*caseRun).opOpenWrite,
		"open_read":        (*caseRun).opOpenRead,
		"list_for":         (*caseRun).opListFor,
		"download_cancel":  (*caseRun).opDownloadCancel,
		"inject_fault":     (*caseRun).opInjectFault,
		"resumable_upload": (*caseRun).opResumableUpload,
		"resumable_cancel": (*caseRun).opResumableCancel,
	}
)

func set(keys ...string) map[string]bool {
	m := map[string]bool{}
	for _, k := range keys {
		m[k] = true
	}
	return m
}

func loadScenario(path string) (*scenarioFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var s scenarioFile
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if s.Format != "files-gateway-client-scenario/1" {
		return nil, fmt.Errorf("%s: unknown format %q", path, s.Format)
	}
	// A typo in the shared file must fail loudly, not pass as an ignored key.
	var problems []string
	names := map[string]bool{}
	for _, c := range s.Cases {
		if names[c.Name] {
			problems = append(problems, fmt.Sprintf("case %s appears twice", c.Name))
		}
		names[c.Name] = true
		for n, step := range c.Steps {
			where := fmt.Sprintf("%s step %d", c.Name, n)
			op, _ := step["op"].(string)
			if ops[op] == nil {
				problems = append(problems, fmt.Sprintf("%s: unknown op %q", where, op))
			}
			if gw, ok := step["gateway"].(string); ok && s.Gateways[gw] == nil {
				problems = append(problems, fmt.Sprintf("%s: unknown gateway %q", where, gw))
			}
			expect, _ := step["expect"].(map[string]any)
			for k := range expect {
				if !expectKeys[k] {
					problems = append(problems, fmt.Sprintf("%s: unknown expectation %q", where, k))
				}
			}
			want, _ := expect["error"].(map[string]any)
			for k := range want {
				if !errorKeys[k] {
					problems = append(problems, fmt.Sprintf("%s: unknown error expectation %q", where, k))
				}
			}
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return nil, fmt.Errorf("%s:\n  %s", path, strings.Join(problems, "\n  "))
	}
	return &s, nil
}

// env holds the servers and clients every case shares.
type env struct {
	servers []*server
	clients map[string]*files.Client
	locks   map[string]*sync.Mutex // gateways a case holds alone
	baseURL string
	key     string // the emulator's API key (its control endpoints need it)
	run     string
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

func startEnv(buildDir string, s *scenarioFile) (_ *env, err error) {
	e := &env{clients: map[string]*files.Client{}, locks: map[string]*sync.Mutex{}, run: "go" + randomHex(4)}
	defer func() {
		if err != nil {
			e.stop()
		}
	}()
	key := "go-scenario-" + randomHex(4)
	emu, err := startEmulator(buildDir, key)
	if err != nil {
		return nil, err
	}
	e.servers = append(e.servers, emu)
	e.baseURL, _ = emu.ready["base_url"].(string)
	e.key = key
	names := make([]string, 0, len(s.Gateways))
	for name := range s.Gateways {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		spec := s.Gateways[name]
		var target string
		if spec["unreachable"] == true {
			if target, err = unusedLoopbackTarget(); err != nil {
				return nil, err
			}
		} else {
			gwKey := key
			if spec["api_key"] != "valid" {
				gwKey = "not-" + key
			}
			gw, addr, err := startGateway(buildDir, e.baseURL, gwKey)
			if err != nil {
				return nil, err
			}
			e.servers = append(e.servers, gw)
			target = addr
		}
		c, err := files.Connect(target, files.WithTimeout(60*time.Second))
		if err != nil {
			return nil, err
		}
		e.clients[name] = c
		e.locks[name] = &sync.Mutex{}
	}
	return e, nil
}

func (e *env) stop() {
	for _, c := range e.clients {
		c.Close()
	}
	for _, s := range e.servers {
		s.stop()
	}
}

func (e *env) logs() string {
	var b strings.Builder
	for _, s := range e.servers {
		fmt.Fprintf(&b, "--- %s\n%s\n", s.name, s.lastLines(20))
	}
	return b.String()
}

var (
	sharedOnce sync.Once
	sharedEnv  *env
	sharedErr  error
	sharedScen *scenarioFile
)

// servers starts the servers once for every test of the package (stopped by TestMain).
func servers(t *testing.T) (*env, *scenarioFile) {
	t.Helper()
	buildDir := os.Getenv("FILESGW_BIN")
	if buildDir == "" {
		t.Skip("FILESGW_BIN (the CMake build folder holding files-gateway and files-emulator) is not set")
	}
	sharedOnce.Do(func() {
		path := os.Getenv("FILESGW_SCENARIO")
		if path == "" {
			sharedErr = errors.New("FILESGW_SCENARIO (tests/clients/scenario.json) is not set")
			return
		}
		if sharedScen, sharedErr = loadScenario(path); sharedErr != nil {
			return
		}
		sharedEnv, sharedErr = startEnv(buildDir, sharedScen)
	})
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return sharedEnv, sharedScen
}

func TestMain(m *testing.M) {
	code := m.Run()
	if sharedEnv != nil {
		sharedEnv.stop()
	}
	os.Exit(code)
}

func TestScenario(t *testing.T) {
	e, s := servers(t)
	for _, c := range s.Cases {
		c := c
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			for _, gw := range gatewaysOf(c) {
				if gw != "default" {
					e.locks[gw].Lock()
					defer e.locks[gw].Unlock()
				}
			}
			r := &caseRun{t: t, env: e, vars: map[string]any{"run": e.run}, contents: map[string][]byte{},
				tmp: t.TempDir()}
			r.run(c)
		})
	}
}

func gatewaysOf(c scenarioCase) []string {
	seen := map[string]bool{}
	for _, step := range c.Steps {
		gw, _ := step["gateway"].(string)
		if gw == "" {
			gw = "default"
		}
		seen[gw] = true
	}
	var out []string
	for gw := range seen {
		out = append(out, gw)
	}
	sort.Strings(out) // one locking order for every case
	return out
}

// result is what a step produced, for the expectations.
type result struct {
	model         *files.Model
	none          bool
	list          bool
	items         []map[string]any
	count, pages  int
	firstPage     int
	names         []string
	data          []byte
	hasData       bool
	text          *string
	bytesReceived int64
	persisted     *int64
	progress      []files.Progress
	hasProgress   bool
}

type caseRun struct {
	t        *testing.T
	env      *env
	vars     map[string]any
	contents map[string][]byte
	tmp      string
}

var varRef = regexp.MustCompile(`\$\{(\w+)\}`)

// sub fills in ${run}, ${i} and saved values; a string that is exactly one
// ${NAME} keeps the saved value's type.
func (r *caseRun) sub(value any, extra map[string]any) any {
	lookup := func(name string) any {
		if v, ok := extra[name]; ok {
			return v
		}
		v, ok := r.vars[name]
		if !ok {
			r.t.Fatalf("no value saved as ${%s}", name)
		}
		return v
	}
	switch v := value.(type) {
	case string:
		if m := varRef.FindStringSubmatch(v); m != nil && m[0] == v {
			return lookup(m[1])
		}
		return varRef.ReplaceAllStringFunc(v, func(ref string) string {
			return fmt.Sprint(lookup(ref[2 : len(ref)-1]))
		})
	case []any:
		out := make([]any, len(v))
		for i, item := range v {
			out[i] = r.sub(item, extra)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, item := range v {
			out[k] = r.sub(item, extra)
		}
		return out
	}
	return value
}

func (r *caseRun) client(step map[string]any) *files.Client {
	gw, _ := step["gateway"].(string)
	if gw == "" {
		gw = "default"
	}
	return r.env.clients[gw]
}

func (r *caseRun) content(spec map[string]any) []byte {
	size := intOf(spec["random_bytes"])
	data := make([]byte, size)
	if _, err := rand.Read(data); err != nil {
		r.t.Fatal(err)
	}
	r.contents[spec["name"].(string)] = data
	return data
}

func (r *caseRun) localFile(data []byte) string {
	f, err := os.CreateTemp(r.tmp, "local-")
	if err != nil {
		r.t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(data); err != nil {
		r.t.Fatal(err)
	}
	return f.Name()
}

func intOf(v any) int {
	switch n := v.(type) {
	case json.Number:
		i, err := n.Int64()
		if err != nil {
			panic(err)
		}
		return int(i)
	case int:
		return n
	case int64:
		return int(n)
	case float64:
		return int(n)
	}
	panic(fmt.Sprintf("not a number: %#v", v))
}

func floatOf(v any) float64 {
	switch n := v.(type) {
	case json.Number:
		f, err := n.Float64()
		if err != nil {
			panic(err)
		}
		return f
	case float64:
		return n
	}
	return float64(intOf(v))
}

func strOf(step map[string]any, key string) string {
	s, _ := step[key].(string)
	return s
}

func (r *caseRun) run(c scenarioCase) {
	t := r.t
	if c.Description != "" {
		t.Log(c.Description)
	}
	for n, step := range c.Steps {
		op := strOf(step, "op")
		where := fmt.Sprintf("step %d (%s)", n, op)
		expect, _ := r.sub(step["expect"], nil).(map[string]any)
		res, err := ops[op](r, step, expect)
		want, wantErr := expect["error"].(map[string]any)
		if err != nil {
			var fe *files.Error
			if !wantErr || !errors.As(err, &fe) {
				t.Fatalf("%s failed: %v\n%s", where, err, r.env.logs())
			}
			r.checkError(where, err, fe, want)
			continue
		}
		if wantErr {
			t.Fatalf("%s: expected %v, got success", where, want)
		}
		r.check(where, res, expect)
		save, _ := step["save"].(map[string]any)
		for name, field := range save {
			if res == nil || res.model == nil {
				t.Fatalf("%s: nothing to save %s from", where, name)
			}
			r.vars[name] = res.model.Map()[field.(string)]
		}
	}
}

// --- expectations ----------------------------------------------------------

// canonical makes JSON-ish values comparable: every number a float64.
func canonical(v any) any {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return string(x)
		}
		return f
	case int:
		return float64(x)
	case int32:
		return float64(x)
	case int64:
		return float64(x)
	case uint32:
		return float64(x)
	case uint64:
		return float64(x)
	case float32:
		return float64(x)
	case []any:
		out := make([]any, len(x))
		for i, item := range x {
			out[i] = canonical(item)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, item := range x {
			out[k] = canonical(item)
		}
		return out
	}
	return v
}

func (r *caseRun) check(where string, res *result, expect map[string]any) {
	t := r.t
	t.Helper()
	if expect["none"] == true && (res == nil || !res.none) {
		t.Errorf("%s: expected nothing, got %v", where, res)
	}
	if fields, ok := expect["fields"].(map[string]any); ok {
		if res == nil || res.model == nil {
			t.Fatalf("%s: expected a model with fields %v", where, fields)
		}
		got := res.model.Map()
		for k, v := range fields {
			if !reflect.DeepEqual(canonical(got[k]), canonical(v)) {
				t.Errorf("%s: field %s is %#v, want %#v (model %v)", where, k, got[k], v, got)
			}
		}
	}
	if name, ok := expect["same_as"].(string); ok {
		want := r.contents[name]
		if res == nil || !res.hasData {
			t.Fatalf("%s: no bytes read", where)
		}
		if len(res.data) != len(want) {
			t.Errorf("%s: %d bytes read, want %d", where, len(res.data), len(want))
		} else if sha256.Sum256(res.data) != sha256.Sum256(want) {
			t.Errorf("%s: content differs", where)
		}
	}
	if text, ok := expect["text"].(string); ok {
		if res == nil || res.text == nil || *res.text != text {
			t.Errorf("%s: text %q, want %q", where, deref(res), text)
		}
	}
	if names, ok := expect["names"].([]any); ok {
		var want []string
		for _, n := range names {
			want = append(want, n.(string))
		}
		got := append([]string(nil), res.names...)
		sort.Strings(want)
		sort.Strings(got)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: names %q, want %q", where, got, want)
		}
	}
	for key, got := range map[string]func() int{
		"count": func() int { return res.count }, "pages": func() int { return res.pages },
		"first_page_count": func() int { return res.firstPage },
	} {
		if want, ok := expect[key]; ok {
			if res == nil || !res.list {
				t.Fatalf("%s: %s expected of a list", where, key)
			}
			if got() != intOf(want) {
				t.Errorf("%s: %s is %d, want %d", where, key, got(), intOf(want))
			}
		}
	}
	if field, ok := expect["sorted_by"].(string); ok {
		for i := 1; i < len(res.items); i++ {
			if less(res.items[i][field], res.items[i-1][field]) {
				t.Errorf("%s: not sorted by %s: %v before %v", where, field, res.items[i-1][field], res.items[i][field])
				break
			}
		}
	}
	if field, ok := expect["unique"].(string); ok {
		seen := map[string]bool{}
		for _, item := range res.items {
			k := fmt.Sprintf("%#v", canonical(item[field]))
			if seen[k] {
				t.Errorf("%s: %s %s repeats", where, field, k)
				break
			}
			seen[k] = true
		}
	}
	if want, ok := expect["persisted_size"]; ok {
		if res == nil || res.persisted == nil || *res.persisted != int64(intOf(want)) {
			t.Errorf("%s: persisted size %v, want %d", where, res, intOf(want))
		}
	}
	if want, ok := expect["progress_final"]; ok {
		r.checkProgress(where, res, int64(intOf(want)), intOf(expect["progress_calls_min"]))
	}
	if max, ok := expect["max_bytes_received"]; ok && res != nil {
		if res.bytesReceived >= int64(intOf(max)) {
			t.Errorf("%s: %d bytes received, want fewer than %d", where, res.bytesReceived, intOf(max))
		}
	}
}

func deref(res *result) string {
	if res == nil || res.text == nil {
		return "<none>"
	}
	return *res.text
}

// less orders strings by bytes and numbers by value.
func less(a, b any) bool {
	if sa, ok := a.(string); ok {
		sb, _ := b.(string)
		return sa < sb
	}
	fa, _ := canonical(a).(float64)
	fb, _ := canonical(b).(float64)
	return fa < fb
}

var codeNames = map[codes.Code]string{
	codes.OK: "OK", codes.Canceled: "CANCELLED", codes.Unknown: "UNKNOWN",
	codes.InvalidArgument: "INVALID_ARGUMENT", codes.DeadlineExceeded: "DEADLINE_EXCEEDED",
	codes.NotFound: "NOT_FOUND", codes.AlreadyExists: "ALREADY_EXISTS",
	codes.PermissionDenied: "PERMISSION_DENIED", codes.ResourceExhausted: "RESOURCE_EXHAUSTED",
	codes.FailedPrecondition: "FAILED_PRECONDITION", codes.Aborted: "ABORTED",
	codes.OutOfRange: "OUT_OF_RANGE", codes.Unimplemented: "UNIMPLEMENTED", codes.Internal: "INTERNAL",
	codes.Unavailable: "UNAVAILABLE", codes.DataLoss: "DATA_LOSS", codes.Unauthenticated: "UNAUTHENTICATED",
}

func (r *caseRun) checkError(where string, err error, e *files.Error, want map[string]any) {
	t := r.t
	t.Helper()
	where = fmt.Sprintf("%s: %v", where, err)
	if class, ok := want["class"].(string); ok && e.ClassName() != class {
		t.Errorf("%s: class %s, want %s", where, e.ClassName(), class)
	}
	isA, _ := want["is_a"].([]any)
	for _, item := range isA {
		name := item.(string)
		goType, ok := files.ErrorGoType(name)
		if !ok {
			t.Errorf("%s: no error class %s", where, name)
			continue
		}
		target := reflect.New(goType) // a *(*files.NotFoundError), for errors.As
		if !errors.As(err, target.Interface()) || !e.IsA(name) {
			t.Errorf("%s: is not a %s (ancestors: %v)", where, name, e.Ancestors())
		} else if target.Elem().IsNil() {
			t.Errorf("%s: errors.As gave a nil %s", where, name)
		}
	}
	if typ, ok := want["type"].(string); ok && e.Type != typ {
		t.Errorf("%s: type %q, want %q", where, e.Type, typ)
	}
	if prefix, ok := want["type_prefix"].(string); ok && !strings.HasPrefix(e.Type, prefix) {
		t.Errorf("%s: type %q does not start with %q", where, e.Type, prefix)
	}
	if code, ok := want["grpc_code"].(string); ok {
		got := ""
		if e.Code != codes.OK {
			got = codeNames[e.Code]
		}
		if got != code {
			t.Errorf("%s: gRPC code %q, want %q", where, got, code)
		}
	}
	if status, ok := want["http_status"]; ok && e.HTTPStatus != intOf(status) {
		t.Errorf("%s: HTTP status %d, want %d", where, e.HTTPStatus, intOf(status))
	}
	if title, ok := want["title"].(string); ok && e.Title != title {
		t.Errorf("%s: title %q, want %q", where, e.Title, title)
	}
	if text, ok := want["message_contains"].(string); ok &&
		!strings.Contains(strings.ToLower(e.Message), strings.ToLower(text)) {
		t.Errorf("%s: message %q does not contain %q", where, e.Message, text)
	}
	if min, ok := want["retry_delay_min"]; ok {
		if e.RetryDelay <= 0 || e.RetryDelay.Seconds() < floatOf(min) {
			t.Errorf("%s: retry delay %v, want at least %vs", where, e.RetryDelay, min)
		}
	}
}

// --- ops -------------------------------------------------------------------

func (r *caseRun) actionArgs(step map[string]any, extra map[string]any) []any {
	args, _ := r.sub(step["args"], extra).([]any)
	if params, ok := r.sub(step["params"], extra).(map[string]any); ok {
		args = append(args, params)
	}
	return args
}

func (r *caseRun) listResult(it *files.Iter) *result {
	res := &result{list: true}
	for it.Next() {
		res.items = append(res.items, it.Current().Map())
	}
	res.count = len(res.items)
	return res
}

func (r *caseRun) opCall(step, _ map[string]any) (*result, error) {
	ctx := context.Background()
	if timeout, ok := step["timeout"]; ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(floatOf(timeout)*float64(time.Second)))
		defer cancel()
	}
	resource := r.client(step).Resource(strOf(step, "resource"))
	action := strOf(step, "action")
	method, ok := resource.Method(action)
	if !ok {
		r.t.Fatalf("%s has no action %q (%v)", resource.Name(), action, resource.Err())
	}
	args := r.actionArgs(step, nil)
	args = append(args, r.callOptions(step)...)
	if method.Paginated {
		it, err := resource.ListAction(ctx, action, args...)
		if err != nil {
			return nil, err
		}
		res := &result{list: true}
		for _, m := range it.Page() {
			res.items = append(res.items, m.Map())
		}
		res.count, res.firstPage, res.pages = len(res.items), len(res.items), 1
		return res, nil
	}
	model, err := resource.Call(ctx, action, args...)
	if err != nil {
		return nil, err
	}
	return &result{model: model, none: model == nil}, nil
}

func (r *caseRun) opCreateMany(step, _ map[string]any) (*result, error) {
	resource := r.client(step).Resource(strOf(step, "resource"))
	action := strOf(step, "action")
	if action == "" {
		action = "create"
	}
	count := intOf(step["count"])
	parallel := 1
	if p, ok := step["parallel"]; ok {
		parallel = intOf(p)
	}
	next := make(chan int)
	errs := make(chan error, parallel)
	var wg sync.WaitGroup
	for w := 0; w < parallel; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if _, err := resource.Call(context.Background(), action, r.actionArgs(step, map[string]any{"i": i})...); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	var firstErr error
	for i := 0; i < count && firstErr == nil; i++ {
		select {
		case next <- i:
		case firstErr = <-errs:
		}
	}
	close(next)
	wg.Wait()
	close(errs)
	if firstErr == nil {
		firstErr = <-errs
	}
	return &result{list: true, count: count}, firstErr
}

func (r *caseRun) opList(step, _ map[string]any) (*result, error) {
	resource := r.client(step).Resource(strOf(step, "resource"))
	action := strOf(step, "action")
	if action == "" {
		action = "list"
	}
	ctx := context.Background()
	args := r.actionArgs(step, nil)
	it, err := resource.ListAction(ctx, action, args...)
	if err != nil {
		return nil, err
	}
	res := r.listResult(it)
	if err := it.Err(); err != nil {
		return nil, err
	}
	// The same list paged by hand.
	page, err := resource.ListAction(ctx, action, args...)
	if err != nil {
		return nil, err
	}
	res.firstPage, res.pages = len(page.Page()), 1
	manual := res.firstPage
	for page.HasNextPage() {
		if err := page.LoadNextPage(); err != nil {
			return nil, err
		}
		res.pages++
		manual += len(page.Page())
	}
	if manual != res.count {
		r.t.Errorf("manual paging saw %d items, auto paging %d", manual, res.count)
	}
	return res, nil
}

func (r *caseRun) opUploadFile(step, _ map[string]any) (*result, error) {
	content, _ := step["content"].(map[string]any)
	path := r.localFile(r.content(content))
	mkdir, _ := step["mkdir_parents"].(bool)
	res := &result{}
	model, err := r.client(step).UploadFile(context.Background(), path, r.sub(step["remote"], nil).(string), mkdir,
		r.progressOption(step, res)...)
	if err != nil {
		return nil, err
	}
	res.model = r.client(step).Model(model)
	return res, nil
}

func (r *caseRun) opDownloadFile(step, _ map[string]any) (*result, error) {
	path := filepath.Join(r.tmp, "download-"+randomHex(8))
	res := &result{}
	model, err := r.client(step).DownloadFile(context.Background(), r.sub(step["remote"], nil).(string), path,
		r.progressOption(step, res)...)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		r.t.Fatal(err)
	}
	os.Remove(path)
	res.model, res.data, res.hasData = r.client(step).Model(model), data, true
	return res, nil
}

// errAbandon ends an open_write block "by an exception" (a panic in Go).
var errAbandon = errors.New("abandoned")

func (r *caseRun) opOpenWrite(step, _ map[string]any) (res *result, err error) {
	client := r.client(step)
	mode := strOf(step, "mode")
	var pieces [][]byte
	if mode == "w" {
		text, _ := r.sub(step["text"], nil).([]any)
		for _, p := range text {
			pieces = append(pieces, []byte(p.(string)))
		}
	} else {
		content, _ := step["content"].(map[string]any)
		data := r.content(content)
		sizes, _ := step["write_sizes"].([]any)
		for pos, i := 0, 0; pos < len(data); i++ {
			n := intOf(sizes[i%len(sizes)])
			if pos+n > len(data) {
				n = len(data) - pos
			}
			pieces = append(pieces, data[pos:pos+n])
			pos += n
		}
	}
	remote := r.sub(step["remote"], nil).(string)
	var opts []files.TransferOption
	if mkdir, _ := step["mkdir_parents"].(bool); mkdir {
		opts = append(opts, files.MkdirParents())
	}
	ctx := context.Background()
	if abort, _ := step["abort"].(bool); abort {
		// The idiom: defer f.Abort() right after Open; a panic (or an early
		// return) before Close commits nothing.
		defer func() {
			if p := recover(); p != nil {
				if p != errAbandon {
					panic(p)
				}
				res, err = &result{none: true}, nil
			}
		}()
		f, err := client.Open(ctx, remote, mode, opts...)
		if err != nil {
			return nil, err
		}
		defer f.Abort()
		for _, p := range pieces {
			if _, err := f.Write(p); err != nil {
				return nil, err
			}
		}
		panic(errAbandon)
	}
	f, err := client.Open(ctx, remote, mode, opts...)
	if err != nil {
		return nil, err
	}
	defer f.Abort()
	for _, p := range pieces {
		if _, err := f.Write(p); err != nil {
			return nil, err
		}
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	return &result{model: r.client(step).Model(f.Metadata())}, nil
}

func (r *caseRun) opOpenRead(step, _ map[string]any) (*result, error) {
	f, err := r.client(step).Open(context.Background(), r.sub(step["remote"], nil).(string), strOf(step, "mode"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, err
	}
	if strOf(step, "mode") == "r" {
		text := string(data)
		return &result{text: &text}, nil
	}
	return &result{data: data, hasData: true}, nil
}

func (r *caseRun) opListFor(step, _ map[string]any) (*result, error) {
	it, err := r.client(step).ListFor(context.Background(), r.sub(step["path"], nil).(string))
	if err != nil {
		return nil, err
	}
	res := &result{list: true}
	for it.Next() {
		res.names = append(res.names, it.Current().GetString("display_name"))
	}
	res.count = len(res.names)
	return res, it.Err()
}

func (r *caseRun) opDownloadCancel(step, expect map[string]any) (*result, error) {
	f, err := r.client(step).Open(context.Background(), r.sub(step["remote"], nil).(string), "rb")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	n := intOf(step["read_bytes"])
	if got, err := io.ReadFull(f, make([]byte, n)); err != nil || got != n {
		r.t.Fatalf("read %d of %d bytes before cancelling: %v", got, n, err)
	}
	f.Cancel()
	_, err = io.ReadAll(f)
	res := &result{bytesReceived: f.BytesTransferred()}
	// Checked here because the read is expected to fail.
	if max, ok := expect["max_bytes_received"]; ok && res.bytesReceived >= int64(intOf(max)) {
		r.t.Errorf("%d bytes received after cancelling, want fewer than %d", res.bytesReceived, intOf(max))
	}
	return res, err
}

func (r *caseRun) opInjectFault(step, _ map[string]any) (*result, error) {
	if _, err := emulatorControl(r.env.baseURL, r.env.key, "faults", r.sub(step["rule"], nil)); err != nil {
		r.t.Fatal(err)
	}
	return &result{}, nil
}

// TestReadmeExample runs the README's example program against the default gateway.
func TestReadmeExample(t *testing.T) {
	e, _ := servers(t)
	bin := os.Getenv("FILESGW_GO_EXAMPLE")
	if bin == "" {
		t.Skip("FILESGW_GO_EXAMPLE (the built example program) is not set")
	}
	out, err := runCommand(bin, "-target", e.clients["default"].Target())
	if err != nil {
		t.Fatalf("%s: %v\n%s", bin, err, out)
	}
	for _, want := range []string{"updated: example-", " Example User\n", "user: ",
		"after delete: UserNotFoundError not-found/user-not-found", `read back: "hello from Go\n"`,
		"sent 14 of 14\n", "entry: copy.txt 14\n", "entry: hello.txt 14\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("the example's output lacks %q:\n%s", want, out)
		}
	}
}

// callOptions turns a step's "options" (workspace_id, language) into call options.
func (r *caseRun) callOptions(step map[string]any) []any {
	opts, _ := r.sub(step["options"], nil).(map[string]any)
	var out []any
	for k, v := range opts {
		switch k {
		case "workspace_id":
			out = append(out, files.WithWorkspaceID(int64(intOf(v))))
		case "language":
			out = append(out, files.WithLanguage(fmt.Sprint(v)))
		default:
			r.t.Fatalf("unknown call option %q", k)
		}
	}
	return out
}

// progressOption records the progress reports of a transfer in res when the step asks.
func (r *caseRun) progressOption(step map[string]any, res *result) []files.TransferOption {
	if step["progress"] != true {
		return nil
	}
	res.hasProgress = true
	return []files.TransferOption{files.OnProgress(func(p files.Progress) { res.progress = append(res.progress, p) })}
}

// checkProgress: reports never go back, the last is final bytes (and its
// total, when known, too), and there are at least min of them.
func (r *caseRun) checkProgress(where string, res *result, final int64, min int) {
	t := r.t
	t.Helper()
	if res == nil || !res.hasProgress {
		t.Fatalf("%s: no progress recorded", where)
	}
	calls := res.progress
	if len(calls) < min || len(calls) == 0 {
		t.Fatalf("%s: %d progress reports, want at least %d", where, len(calls), min)
	}
	for i := 1; i < len(calls); i++ {
		if calls[i].Bytes < calls[i-1].Bytes {
			t.Errorf("%s: progress went back from %d to %d", where, calls[i-1].Bytes, calls[i].Bytes)
		}
	}
	last := calls[len(calls)-1]
	if last.Bytes != final || (last.Total >= 0 && last.Total != final) {
		t.Errorf("%s: last progress %+v, want %d of %d", where, last, final, final)
	}
}

// opResumableUpload: start (expected_size), a first stream of first_bytes left
// open, the status, then a handle from the upload id alone resumes and commits.
func (r *caseRun) opResumableUpload(step, _ map[string]any) (*result, error) {
	ctx := context.Background()
	content, _ := step["content"].(map[string]any)
	data := r.content(content)
	remote := r.sub(step["remote"], nil).(string)
	first := intOf(step["first_bytes"])
	client := r.client(step)
	opts := []files.TransferOption{files.ExpectedSize(int64(len(data)))}
	if mkdir, _ := step["mkdir_parents"].(bool); mkdir {
		opts = append(opts, files.MkdirParents())
	}
	up, err := client.StartResumableUpload(ctx, remote, opts...)
	if err != nil {
		return nil, err
	}
	sent, err := up.WriteAt(ctx, bytes.NewReader(data[:first]), 0, false)
	if err != nil {
		return nil, err
	}
	persisted := sent.GetPersistedSize()
	st, err := up.Status(ctx)
	if err != nil {
		return nil, err
	}
	if st.GetPersistedSize() != persisted || st.GetComplete() {
		r.t.Fatalf("resumable_upload: status %v, the first stream said %d persisted", st, persisted)
	}
	res := &result{persisted: &persisted, hasProgress: true}
	done, err := client.ResumableUpload(up.ID(), remote).Resume(ctx, bytes.NewReader(data), true,
		files.OnProgress(func(p files.Progress) { res.progress = append(res.progress, p) }))
	if err != nil {
		return nil, err
	}
	r.checkProgress("resumable_upload", res, int64(len(data)), 1)
	m, err := client.Resource("File").Find(ctx, remote)
	if err != nil {
		return nil, err
	}
	if m.GetInt("size") != done.GetFile().GetSize() {
		r.t.Fatalf("resumable_upload: committed %v, found %v", done.GetFile(), m)
	}
	res.model = m
	return res, nil
}

// opResumableCancel: start, send the content without finishing, cancel, then
// query (the step's expected error).
func (r *caseRun) opResumableCancel(step, _ map[string]any) (*result, error) {
	ctx := context.Background()
	content, _ := step["content"].(map[string]any)
	data := r.content(content)
	client := r.client(step)
	up, err := client.StartResumableUpload(ctx, r.sub(step["remote"], nil).(string), files.MkdirParents())
	if err != nil {
		return nil, err
	}
	if _, err := up.WriteAt(ctx, bytes.NewReader(data), 0, false); err != nil {
		return nil, err
	}
	if err := up.Cancel(ctx); err != nil {
		return nil, err
	}
	_, err = up.Status(ctx)
	return &result{}, err
}
