// Command resgen writes resources_gen.go for package files: the typed layer
// over the generated messages of package filesv1. For every SDK resource of
// the descriptors ((files.v1.sdk) and (files.v1.rest) options) it writes a
// type with one method per action, its REST path parameters typed and its
// request and result the generated messages, and a Client method that gives
// it by the resource's plural (client.Users()). Nothing is written per
// resource by hand; the methods call the descriptor-driven core (typed.go).
//
//	go run ./internal/resgen -out files/resources_gen.go
package main

import (
	"bytes"
	"flag"
	"fmt"
	"go/format"
	"os"
	"regexp"
	"sort"
	"strings"

	filesv1 "github.com/files-gateway/files-gateway/clients/go/filesv1"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
)

type action struct {
	name, rpc, service, httpMethod, httpPath string
	paginated                                bool
	input, output, item                      protoreflect.MessageDescriptor
	pathParams                               []protoreflect.FieldDescriptor
	otherFields                              int
}

var (
	pathParam     = regexp.MustCompile(`\{(\w+)\}`)
	snakeBoundary = regexp.MustCompile(`([a-z0-9])([A-Z])`)
	consonantY    = regexp.MustCompile(`[^aeiou]y$`)
	sibilant      = regexp.MustCompile(`(s|x|z|ch|sh)$`)
)

// Names the Client already has (client.go, transfer.go, resumable.go).
var clientMethods = map[string]bool{
	"Conn": true, "Target": true, "Close": true, "Resource": true, "Resources": true,
	"TransferService": true, "ListFor": true, "UploadFile": true, "Upload": true,
	"DownloadFile": true, "Download": true, "Open": true, "StartResumableUpload": true,
	"QueryUploadStatus": true, "CancelResumableUpload": true, "ResumeUpload": true,
}

func pascal(snake string) string {
	var b strings.Builder
	for _, part := range strings.Split(snake, "_") {
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}

func plural(word string) string {
	switch {
	case consonantY.MatchString(word):
		return word[:len(word)-1] + "ies"
	case sibilant.MatchString(word):
		return word + "es"
	}
	return word + "s"
}

// goName is protoc-gen-go's name of a message of package files.v1.
func goName(md protoreflect.MessageDescriptor) string {
	name := string(md.Name())
	for p, ok := md.Parent().(protoreflect.MessageDescriptor); ok; p, ok = p.Parent().(protoreflect.MessageDescriptor) {
		name = string(p.Name()) + "." + name
	}
	return goCamelCase(name)
}

// goCamelCase is protoc-gen-go's identifier rule (strs.GoCamelCase): a
// letter after a digit or an underscore starts a word ("User2faReset" ->
// "User2FaReset"), dots of nested names become underscores.
func goCamelCase(s string) string {
	lower := func(c byte) bool { return 'a' <= c && c <= 'z' }
	var b []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.' && i+1 < len(s) && lower(s[i+1]):
		case c == '.':
			b = append(b, '_')
		case c == '_' && (i == 0 || s[i-1] == '.'):
			b = append(b, 'X')
		case c == '_' && i+1 < len(s) && lower(s[i+1]):
		case '0' <= c && c <= '9':
			b = append(b, c)
		default:
			if lower(c) {
				c -= 'a' - 'A'
			}
			b = append(b, c)
			for ; i+1 < len(s) && lower(s[i+1]); i++ {
				b = append(b, s[i+1])
			}
		}
	}
	return string(b)
}

func qualified(md protoreflect.MessageDescriptor) string {
	switch md.FullName() {
	case "google.protobuf.Empty":
		return ""
	}
	if md.ParentFile().Package() != "files.v1" {
		fail("%s is outside files.v1", md.FullName())
	}
	return "*filesv1." + goName(md)
}

func goType(fd protoreflect.FieldDescriptor) string {
	switch fd.Kind() {
	case protoreflect.Int64Kind, protoreflect.Int32Kind, protoreflect.Sint64Kind, protoreflect.Sint32Kind,
		protoreflect.Sfixed64Kind, protoreflect.Sfixed32Kind, protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return "int64"
	case protoreflect.StringKind:
		return "string"
	case protoreflect.BoolKind:
		return "bool"
	}
	return "any"
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "resgen: "+format+"\n", args...)
	os.Exit(1)
}

func param(fd protoreflect.FieldDescriptor) string {
	name := strings.Map(func(r rune) rune {
		if r == '_' {
			return -1
		}
		return r
	}, string(fd.Name()))
	switch name {
	case "type", "func", "range", "map", "var", "go", "select", "case", "default", "ctx", "params", "opts", "x":
		name += "Arg"
	}
	return name
}

func main() {
	out := flag.String("out", "", "file to write (default: stdout)")
	flag.Parse()
	_ = filesv1.File_files_v1_options_proto
	resources := map[string][]*action{}
	protoregistry.GlobalFiles.RangeFilesByPackage("files.v1", func(fd protoreflect.FileDescriptor) bool {
		for i := 0; i < fd.Services().Len(); i++ {
			sd := fd.Services().Get(i)
			for j := 0; j < sd.Methods().Len(); j++ {
				md := sd.Methods().Get(j)
				opts, ok := md.Options().(*descriptorpb.MethodOptions)
				if !ok || opts == nil || !proto.HasExtension(opts, filesv1.E_Sdk) {
					continue
				}
				sdk := proto.GetExtension(opts, filesv1.E_Sdk).(*filesv1.SdkMethod)
				rest := proto.GetExtension(opts, filesv1.E_Rest).(*filesv1.RestBinding)
				a := &action{name: sdk.GetAction(), rpc: string(md.Name()), service: string(sd.FullName()),
					httpMethod: rest.GetMethod(), httpPath: rest.GetPath(), paginated: sdk.GetPaginated(),
					input: md.Input(), output: md.Output()}
				onPath := map[string]bool{}
				for _, m := range pathParam.FindAllStringSubmatch(rest.GetPath(), -1) {
					f := md.Input().Fields().ByName(protoreflect.Name(m[1]))
					if f == nil {
						fail("%s: no request field %s", md.FullName(), m[1])
					}
					a.pathParams = append(a.pathParams, f)
					onPath[m[1]] = true
				}
				for k := 0; k < md.Input().Fields().Len(); k++ {
					// unmapped_fields (params the protos do not know yet) is on every
					// request; alone it does not earn an action a params argument.
					name := string(md.Input().Fields().Get(k).Name())
					if !onPath[name] && name != "unmapped_fields" {
						a.otherFields++
					}
				}
				if a.paginated {
					items := md.Output().Fields().ByName("items")
					if items == nil || items.Message() == nil {
						fail("%s pages but has no items", md.FullName())
					}
					a.item = items.Message()
				}
				resources[sdk.GetResource()] = append(resources[sdk.GetResource()], a)
			}
		}
		return true
	})
	names := make([]string, 0, len(resources))
	for r := range resources {
		names = append(names, r)
	}
	sort.Strings(names)

	var b bytes.Buffer
	b.WriteString(`// Code generated by internal/resgen from the files.v1 descriptors. DO NOT EDIT.

package files

import (
	"context"

	filesv1 "github.com/files-gateway/files-gateway/clients/go/filesv1"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
)

var (
	_ context.Context
	_ grpc.CallOption
	_ *filesv1.User
	_ *emptypb.Empty
)
`)
	accessors := map[string]string{}
	var all []string
	for _, r := range names {
		acc := pascal(plural(snakeBoundary.ReplaceAllString(r, "${1}_${2}")))
		if clientMethods[acc] {
			acc += "Resource"
		}
		if other, dup := accessors[acc]; dup {
			fail("%s and %s would both be client.%s()", other, r, acc)
		}
		accessors[acc] = r
		typ := r + "Resource"
		actions := resources[r]
		sort.Slice(actions, func(i, j int) bool { return actions[i].name < actions[j].name })
		fmt.Fprintf(&b, "\n// %s is the typed %s resource (files.v1 %s): one method per SDK action,\n", typ, r, actions[0].service)
		fmt.Fprintf(&b, "// the generated request and model messages of package filesv1.\ntype %s struct{ c *Client }\n", typ)
		fmt.Fprintf(&b, "\n// %s gives the typed %s resource.\nfunc (c *Client) %s() *%s { return &%s{c} }\n", acc, r, acc, typ, typ)
		fmt.Fprintf(&b, "\n// Untyped gives the same resource with Files.com-keyed Params and Models.\nfunc (x *%s) Untyped() *Resource { return x.c.Resource(%q) }\n", typ, r)
		for _, a := range actions {
			var sig, path []string
			for _, f := range a.pathParams {
				sig = append(sig, param(f)+" "+goType(f))
				path = append(path, param(f))
			}
			reqArg := "nil"
			if a.otherFields > 0 {
				sig = append(sig, "params *filesv1."+goName(a.input))
				reqArg = "params"
			}
			sig = append(sig, "opts ...grpc.CallOption")
			pathList := "nil"
			if len(path) > 0 {
				pathList = "[]any{" + strings.Join(path, ", ") + "}"
			}
			method := pascal(a.name)
			desc := "rpc" + r + method
			all = append(all, desc)
			var quoted []string
			for _, p := range a.pathParams {
				quoted = append(quoted, fmt.Sprintf("%q", p.Name()))
			}
			outType := "emptypb.Empty"
			if o := qualified(a.output); o != "" {
				outType = o[1:]
			}
			fmt.Fprintf(&b, "\nvar %s = &rpc{resource: %q, action: %q, service: %q, name: %q, httpMethod: %q, httpPath: %q, paginated: %v, pathParams: []string{%s}, input: &filesv1.%s{}, output: &%s{}}\n",
				desc, r, a.name, a.service, a.rpc, a.httpMethod, a.httpPath, a.paginated, strings.Join(quoted, ", "), goName(a.input), outType)
			fmt.Fprintf(&b, "\n// %s is %s.%s: %s %s (%s/%s).", method, r, a.name, a.httpMethod, a.httpPath, a.service, a.rpc)
			if a.otherFields > 0 {
				fmt.Fprintf(&b, "\n// params may be nil; its path fields are taken from the arguments before it.")
			}
			b.WriteString("\n")
			out := qualified(a.output)
			switch {
			case a.paginated:
				fmt.Fprintf(&b, "// The iterator walks every page (the first is loaded before %s returns).\n", method)
				item := qualified(a.item)
				fmt.Fprintf(&b, "func (x *%s) %s(ctx context.Context, %s) (*ListIter[%s], error) {\n\treturn typedList[%s](ctx, x.c, %s, %s, %s, opts)\n}\n",
					typ, method, strings.Join(sig, ", "), item, item, desc, reqArg, pathList)
			case out == "":
				fmt.Fprintf(&b, "func (x *%s) %s(ctx context.Context, %s) error {\n\t_, err := typedCall[*emptypb.Empty](ctx, x.c, %s, %s, %s, opts)\n\treturn err\n}\n",
					typ, method, strings.Join(sig, ", "), desc, reqArg, pathList)
			default:
				fmt.Fprintf(&b, "func (x *%s) %s(ctx context.Context, %s) (%s, error) {\n\treturn typedCall[%s](ctx, x.c, %s, %s, %s, opts)\n}\n",
					typ, method, strings.Join(sig, ", "), out, out, desc, reqArg, pathList)
			}
		}
	}
	fmt.Fprintf(&b, "\n// typedRPCs lists every action of the typed layer (the tests compare them with the descriptors).\nvar typedRPCs = []*rpc{\n%s,\n}\n", strings.Join(all, ",\n"))
	src, err := format.Source(b.Bytes())
	if err != nil {
		fail("gofmt: %v", err)
	}
	if *out == "" {
		os.Stdout.Write(src)
		return
	}
	if err := os.WriteFile(*out, src, 0o644); err != nil {
		fail("%v", err)
	}
}
