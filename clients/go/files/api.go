package files

import (
	"regexp"
	"sort"
	"strings"
	"sync"

	filesv1 "github.com/files-gateway/files-gateway/clients/go/filesv1"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
)

// Method is one RPC seen as an SDK action: resource "User", action "list",
// its request and response types, the request fields its REST path names
// ("/users/{id}" -> id) and whether it pages. Every Method is read from the
// (files.v1.sdk) and (files.v1.rest) options of the generated descriptors.
type Method struct {
	Resource      string // SDK class, e.g. "User"
	Action        string // SDK function, e.g. "list", "find", "unlock"
	Service       string // full service name, e.g. "files.v1.UserService"
	Name          string // RPC name, e.g. "ListUsers"
	FullMethod    string // gRPC method path, e.g. "/files.v1.UserService/ListUsers"
	Input         protoreflect.MessageType
	Output        protoreflect.MessageType
	PathParams    []string // request fields the REST path names, in order
	Paginated     bool     // answers pages: {items, next_cursor}
	HTTPMethod    string   // "GET", "POST", ...
	HTTPPath      string   // relative to /api/rest/v1, e.g. "/users/{id}"
	SuccessStatus int
}

func (m *Method) String() string {
	return m.Resource + "." + m.Action + " (" + m.HTTPMethod + " " + m.HTTPPath + ")"
}

// returnsNothing reports whether the RPC answers google.protobuf.Empty.
func (m *Method) returnsNothing() bool {
	return m.Output.Descriptor().FullName() == "google.protobuf.Empty"
}

type apiIndex struct {
	resources  map[string]map[string]*Method // "User" -> "list" -> Method
	attributes map[string]string             // "users" / "user" -> "User"
}

var (
	indexOnce sync.Once
	index     *apiIndex
	pathParam = regexp.MustCompile(`\{(\w+)\}`)
)

// The generated package registers every files.v1 file; naming one of its
// types here keeps it linked into every program that uses this package.
var _ = filesv1.File_files_v1_options_proto

func api() *apiIndex {
	indexOnce.Do(func() { index = buildIndex() })
	return index
}

func buildIndex() *apiIndex {
	idx := &apiIndex{resources: map[string]map[string]*Method{}}
	protoregistry.GlobalFiles.RangeFilesByPackage("files.v1", func(fd protoreflect.FileDescriptor) bool {
		services := fd.Services()
		for i := 0; i < services.Len(); i++ {
			sd := services.Get(i)
			methods := sd.Methods()
			for j := 0; j < methods.Len(); j++ {
				if m := newMethod(sd, methods.Get(j)); m != nil {
					if idx.resources[m.Resource] == nil {
						idx.resources[m.Resource] = map[string]*Method{}
					}
					idx.resources[m.Resource][m.Action] = m
				}
			}
		}
		return true
	})
	claims := map[string]map[string]bool{}
	for resource := range idx.resources {
		single := snakeCase(resource)
		for _, attr := range []string{plural(single), single} {
			if claims[attr] == nil {
				claims[attr] = map[string]bool{}
			}
			claims[attr][resource] = true
		}
	}
	// A name two resources could claim belongs to neither.
	idx.attributes = map[string]string{}
	for attr, owners := range claims {
		if len(owners) == 1 {
			for r := range owners {
				idx.attributes[attr] = r
			}
		}
	}
	return idx
}

func newMethod(sd protoreflect.ServiceDescriptor, md protoreflect.MethodDescriptor) *Method {
	opts, ok := md.Options().(*descriptorpb.MethodOptions)
	if !ok || opts == nil || !proto.HasExtension(opts, filesv1.E_Sdk) {
		return nil // hand-written services (TransferService) have their own API
	}
	sdk, _ := proto.GetExtension(opts, filesv1.E_Sdk).(*filesv1.SdkMethod)
	rest, _ := proto.GetExtension(opts, filesv1.E_Rest).(*filesv1.RestBinding)
	if sdk == nil || rest == nil {
		return nil
	}
	in, err := protoregistry.GlobalTypes.FindMessageByName(md.Input().FullName())
	if err != nil {
		return nil
	}
	out, err := protoregistry.GlobalTypes.FindMessageByName(md.Output().FullName())
	if err != nil {
		return nil
	}
	m := &Method{
		Resource:      sdk.GetResource(),
		Action:        sdk.GetAction(),
		Service:       string(sd.FullName()),
		Name:          string(md.Name()),
		FullMethod:    "/" + string(sd.FullName()) + "/" + string(md.Name()),
		Input:         in,
		Output:        out,
		Paginated:     sdk.GetPaginated(),
		HTTPMethod:    rest.GetMethod(),
		HTTPPath:      rest.GetPath(),
		SuccessStatus: int(sdk.GetSuccessStatus()),
	}
	for _, match := range pathParam.FindAllStringSubmatch(rest.GetPath(), -1) {
		m.PathParams = append(m.PathParams, match[1])
	}
	return m
}

var snakeBoundary = regexp.MustCompile(`([a-z0-9])([A-Z])`)

// snakeCase turns "As2Partner" into "as2_partner".
func snakeCase(name string) string {
	return strings.ToLower(snakeBoundary.ReplaceAllString(name, "${1}_${2}"))
}

var (
	consonantY = regexp.MustCompile(`[^aeiou]y$`)
	sibilant   = regexp.MustCompile(`(s|x|z|ch|sh)$`)
)

// plural is the English plural of a snake_case noun, enough for the Files.com resources.
func plural(word string) string {
	switch {
	case consonantY.MatchString(word):
		return word[:len(word)-1] + "ies"
	case sibilant.MatchString(word):
		return word + "es"
	}
	return word + "s"
}

// resourceName resolves "users", "user" or "User" to the SDK name "User".
func resourceName(name string) (string, bool) {
	idx := api()
	if _, ok := idx.resources[name]; ok {
		return name, true
	}
	r, ok := idx.attributes[name]
	return r, ok
}

// Resources lists the SDK resource names: "ActionLog", ..., "User", ...
func Resources() []string {
	names := make([]string, 0, len(api().resources))
	for r := range api().resources {
		names = append(names, r)
	}
	sort.Strings(names)
	return names
}

// LookupMethod finds an SDK action; resource may be the SDK name ("User") or
// its snake_case singular or plural ("user", "users").
func LookupMethod(resource, action string) (*Method, bool) {
	r, ok := resourceName(resource)
	if !ok {
		return nil, false
	}
	m, ok := api().resources[r][action]
	return m, ok
}
