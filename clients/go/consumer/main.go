package main

// The README's first example: connect, one typed call.
//
//	filesgw-consumer -target 127.0.0.1:50051 -user 1

import (
	"context"
	"flag"
	"fmt"
	"log"

	"github.com/files-gateway/files-gateway/clients/go/files"
)

func main() {
	target := flag.String("target", files.DefaultTarget, "files-gateway address")
	id := flag.Int64("user", 1, "the id of a user")
	initOnly := flag.Bool("init-only", false, "exit after start-up (go_client_start.py: the cost of loading the client)")
	flag.Parse()
	if *initOnly {
		return
	}

	client, err := files.Connect(*target)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	user, err := client.Users().Find(context.Background(), *id)
	if files.IsNotFound(err) {
		log.Fatalf("no user %d", *id)
	} else if err != nil {
		log.Fatal(err)
	}
	fmt.Println(user.GetId(), user.GetUsername())
}
