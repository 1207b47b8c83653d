// Package files is the Go client of files-gateway: the Files.com API over
// gRPC, in the shape of the Files.com SDK, with no Files.com credentials in
// the program (the gateway holds them).
//
//	client, err := files.Connect("127.0.0.1:50051")
//	if err != nil { ... }
//	defer client.Close()
//
//	it, err := client.Resource("users").List(ctx, files.Params{"per_page": 1000})
//	if err != nil { ... }
//	for it.Next() { // loads the next page when one is done
//		fmt.Println(it.Current().GetInt("id"), it.Current().GetString("username"))
//	}
//	if err := it.Err(); err != nil { ... }
//
//	_, err = client.Resource("users").Find(ctx, 987654321)
//	var nf *files.NotFoundError
//	if errors.As(err, &nf) {
//		fmt.Println(nf.Type) // "not-found/user-not-found"
//	}
//
//	_, err = client.UploadFile(ctx, "report.csv", "reports/report.csv", true)
//
// Nothing here is written per resource. The resources and their actions
// (Resource, Method) come from the (files.v1.sdk) options of the generated
// descriptors (package github.com/files-gateway/files-gateway/clients/go/filesv1, generated from
// proto/ at build time); Params are mapped onto the request messages through
// protoreflect; the error classes come from the error catalogue
// (error_catalog.proto), their Go types generated from it at build time
// (errors_gen.go, see internal/errgen).
package files
