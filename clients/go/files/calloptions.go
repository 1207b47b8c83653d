package files

import (
	"context"
	"strconv"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// Per-call options: grpc.CallOptions, so they go wherever call options go
// (the typed methods' opts, the args of Resource.Call / List, and uploads
// and downloads through WithCallOptions). Each becomes gRPC metadata of
// that call only; the gateway forwards it to Files.com.
//
//	user, err := client.Users().Find(ctx, 1, files.WithWorkspaceID(7), files.WithLanguage("fr"))
//
// The deadline of a call is its context's (context.WithTimeout); without one,
// the client's default (WithTimeout at Connect) applies.

// MetadataOption is a call option that sends one metadata pair with a call.
type MetadataOption struct {
	grpc.EmptyCallOption
	Key, Value string
}

// WithWorkspaceID scopes the call to a Files.com workspace
// (x-files-workspace-id; the gateway sends X-Files-Workspace-Id).
func WithWorkspaceID(id int64) grpc.CallOption {
	return MetadataOption{Key: "x-files-workspace-id", Value: strconv.FormatInt(id, 10)}
}

// WithLanguage asks for Files.com's messages in a language, e.g. "fr" or
// "es-ES" (x-files-language; the gateway sends Accept-Language).
func WithLanguage(language string) grpc.CallOption {
	return MetadataOption{Key: "x-files-language", Value: language}
}

// WithAPIKey makes the call with this Files.com API key instead of the
// gateway's own (x-files-api-key), where the gateway's profile allows it.
func WithAPIKey(key string) grpc.CallOption {
	return MetadataOption{Key: "x-files-api-key", Value: key}
}

// WithSessionID makes the call with a Files.com session (x-files-session-id),
// where the gateway's profile allows it.
func WithSessionID(id string) grpc.CallOption {
	return MetadataOption{Key: "x-files-session-id", Value: id}
}

// withCallMetadata adds the MetadataOptions among opts to ctx's outgoing metadata.
func withCallMetadata(ctx context.Context, opts []grpc.CallOption) context.Context {
	var kv []string
	for _, o := range opts {
		switch m := o.(type) {
		case MetadataOption:
			kv = append(kv, m.Key, m.Value)
		case *MetadataOption:
			kv = append(kv, m.Key, m.Value)
		}
	}
	if len(kv) == 0 {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, kv...)
}
