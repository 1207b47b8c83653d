// The README's example: run it against a gateway (.ci/start-gateway, or files-gateway,
// which embeds the emulator when no Files.com key is set) with the source launcher:
//
//   java -cp "build/clients/java/files-gateway-client.jar:$(cat build/clients/java/files-gateway-client.classpath)" \
//       clients/java/examples/Example.java 127.0.0.1:50051
package example;

import com.filesgateway.client.FilesGateway;
import com.filesgateway.client.RemoteInputStream;
import com.filesgateway.client.RemoteOutputStream;
import com.filesgateway.client.UploadOptions;
import com.filesgateway.client.exceptions.ApiErrorException;
import com.filesgateway.v1.CreateUserRequest;
import com.filesgateway.v1.File;
import com.filesgateway.v1.ListUsersRequest;
import com.filesgateway.v1.UpdateUserRequest;
import com.filesgateway.v1.User;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

public final class Example {
  public static void main(String[] args) throws Exception {
    String target = args.length > 0 ? args[0]
        : System.getenv().getOrDefault("FILES_GATEWAY_TARGET", "127.0.0.1:50051");
    String suffix = Long.toString(ProcessHandle.current().pid());
    try (FilesGateway client = FilesGateway.connect(target)) {
      System.out.println(client.users().find(1L).getUsername());

      // Typed requests and models (protoc's classes); iterating a list loads pages as it goes.
      for (User user : client.users().list(ListUsersRequest.newBuilder()
          .putSortBy("username", "asc").setPerPage(1000).build())) {
        System.out.println(user.getId() + " " + user.getUsername());
      }

      User user = client.users().create(CreateUserRequest.newBuilder()
          .setUsername("readme-" + suffix).setEmail("demo@example.com").build());
      user = client.users().update(user, UpdateUserRequest.newBuilder()
          .setName("Demo User").build());  // per-object: the id comes from the model
      System.out.println(user.getName() + " " + user.getEmail());

      try {
        client.users().find(987654321L);
      } catch (ApiErrorException.NotFoundException e) {  // UserNotFoundException
        System.out.println(e.getClass().getSimpleName() + " " + e.getType() + " "
            + e.getHttpStatus());
      }

      // File content streams through files.v1.TransferService; only commit() writes it.
      String folder = "readme-" + suffix;
      try (RemoteOutputStream out = client.openWrite(folder + "/hello.txt", true)) {
        out.write("hello from Java\n".getBytes(StandardCharsets.UTF_8));
        out.commit();
      }
      try (RemoteInputStream in = client.openRead(folder + "/hello.txt")) {
        System.out.print(new String(in.readAllBytes(), StandardCharsets.UTF_8));
      }
      Path local = Files.createTempDirectory("readme").resolve("hello.txt");
      client.downloadFile(folder + "/hello.txt", local);
      client.uploadFile(local, folder + "/copy.txt", new UploadOptions()
          .progress((bytes, total) -> System.out.println("sent " + bytes + " of " + total)));
      List<String> names = new ArrayList<>();
      for (File entry : client.listFor(folder)) {
        names.add(entry.getDisplayName());
      }
      Collections.sort(names);
      System.out.println(names);

      client.users().delete(user);
    }
  }
}
