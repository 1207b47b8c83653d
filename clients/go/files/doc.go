// Package files is the Go client of files-gateway: the Files.com API over
// gRPC, in the shape of the Files.com SDK, with no Files.com credentials in
// the program (the gateway holds them).
//
//	client, err := files.Connect("127.0.0.1:50051")
//	if err != nil { ... }
//	defer client.Close()
//
//	user, err := client.Users().Find(ctx, 1) // a *filesv1.User
//	if files.IsNotFound(err) { ... }
//	fmt.Println(user.GetUsername())
//
//	it, err := client.Users().List(ctx, &filesv1.ListUsersRequest{PerPage: proto.Int64(1000)})
//	if err != nil { ... }
//	for it.Next() { // loads the next page when one is done
//		fmt.Println(it.Current().GetId(), it.Current().GetUsername())
//	}
//	if err := it.Err(); err != nil { ... }
//
//	var re *files.ResponseError // what Files.com answered
//	if errors.As(err, &re) { fmt.Println(re.Type, re.HttpCode) }
//
//	file, err := client.UploadFile(ctx, "report.csv", "reports/report.csv", true,
//		files.OnProgress(func(p files.Progress) { log.Println(p.Bytes, p.Total) }))
//
// Nothing here is written per resource. The typed layer (client.Users(),
// client.Files(), ...: resources_gen.go) is generated at build time from the
// (files.v1.sdk) and (files.v1.rest) options of the descriptors (package
// github.com/files-gateway/files-gateway/clients/go/filesv1, generated from
// proto/ at build time) by internal/resgen; the untyped layer (Resource,
// Method, Params, Model) reads the same options at run time; the error
// classes come from the error catalogue (error_catalog.proto), their Go types
// generated from it at build time (errors_gen.go, see internal/errgen).
package files
