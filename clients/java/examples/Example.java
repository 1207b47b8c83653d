// The README's example: run it against a gateway (.ci/start-gateway, or files-gateway,
// which embeds the emulator when no Files.com key is set) with the source launcher:
//
//   java -cp "build/clients/java/files-gateway-client.jar:$(cat build/clients/java/files-gateway-client.classpath)" \
//       clients/java/examples/Example.java 127.0.0.1:50051
package example;

import com.filesgateway.client.FilesGateway;
import com.filesgateway.client.ListObj;
import com.filesgateway.client.Model;
import com.filesgateway.client.RemoteInputStream;
import com.filesgateway.client.Resource;
import com.filesgateway.client.UploadOptions;
import com.filesgateway.client.exceptions.ApiErrorException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

public final class Example {
  public static void main(String[] args) throws Exception {
    String target = args.length > 0 ? args[0]
        : System.getenv().getOrDefault("FILES_GATEWAY_TARGET", "127.0.0.1:50051");
    String suffix = Long.toString(ProcessHandle.current().pid());
    try (FilesGateway client = FilesGateway.connect(target)) {
      // Resources as in the Files.com SDK; iterating a ListObj loads pages as it goes.
      Resource users = client.resource("users");
      ListObj everyone = users.list(Map.of("sort_by", Map.of("username", "asc"),
                                           "per_page", 1000));
      for (Model user : everyone) {
        System.out.println(user.get("id") + " " + user.get("username"));
      }

      Model user = users.create(Map.of("username", "readme-" + suffix,
                                       "email", "demo@example.com"));
      user = users.update(user.get("id"), Map.of("name", "Demo User"));
      System.out.println(user.get("name") + " " + user.toMap().get("email"));

      try {
        users.find(987654321);
      } catch (ApiErrorException.NotFoundException e) {  // UserNotFoundException
        System.out.println(e.getClass().getSimpleName() + " " + e.getType() + " "
            + e.getHttpStatus());
      }

      // File content streams through files.v1.TransferService.
      String folder = "readme-" + suffix;
      client.write(folder + "/hello.txt", new UploadOptions().mkdirParents(true),
          out -> out.write("hello from Java\n".getBytes(StandardCharsets.UTF_8)));
      try (RemoteInputStream in = client.openRead(folder + "/hello.txt")) {
        System.out.print(new String(in.readAllBytes(), StandardCharsets.UTF_8));
      }
      Path local = Files.createTempDirectory("readme").resolve("hello.txt");
      client.downloadFile(folder + "/hello.txt", local);
      client.uploadFile(local, folder + "/copy.txt", false);
      List<String> names = new ArrayList<>();
      for (Model entry : client.listFor(folder)) {
        names.add(entry.getString("display_name"));
      }
      Collections.sort(names);
      System.out.println(names);

      user.invoke("delete");  // per-object actions fill in the id
    }
  }
}
