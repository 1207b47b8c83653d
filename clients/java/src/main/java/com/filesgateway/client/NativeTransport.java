package com.filesgateway.client;

import com.filesgateway.client.exceptions.ApiErrorException.InvalidRequestException;
import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import java.net.SocketAddress;

/**
 * unix: targets over netty's native transports, found by reflection so that neither is a
 * dependency: epoll (Linux, io.netty:netty-transport-native-epoll with its classifier, e.g.
 * linux-x86_64) or kqueue (macOS). Without one (Debian's libnetty-java ships epoll's classes
 * but not its native library) the connect fails with the reason and what to do.
 */
final class NativeTransport {
  private static final String[][] KINDS = {
    {"epoll", "io.netty.channel.epoll.Epoll", "io.netty.channel.epoll.EpollEventLoopGroup",
     "io.netty.channel.epoll.EpollDomainSocketChannel"},
    {"kqueue", "io.netty.channel.kqueue.KQueue", "io.netty.channel.kqueue.KQueueEventLoopGroup",
     "io.netty.channel.kqueue.KQueueDomainSocketChannel"},
  };

  final SocketAddress address;
  final EventLoopGroup group;
  final Class<? extends Channel> channelType;

  private NativeTransport(SocketAddress address, EventLoopGroup group,
                          Class<? extends Channel> channelType) {
    this.address = address;
    this.group = group;
    this.channelType = channelType;
  }

  /** "unix:/run/gw.sock", "unix:///run/gw.sock" or "unix:relative.sock" -> the socket path. */
  static String path(String target) {
    String p = target.substring("unix:".length());
    if (p.startsWith("//")) {
      p = p.substring(2);  // unix://[authority]/path: only an empty authority is meaningful
      if (!p.startsWith("/")) {
        throw new InvalidRequestException("unix target " + target + ": use unix:///abs/path "
            + "or unix:relative/path");
      }
    }
    if (p.isEmpty()) {
      throw new InvalidRequestException("unix target " + target + " names no socket");
    }
    return p;
  }

  static NativeTransport find(String target) {
    String path = path(target);
    StringBuilder why = new StringBuilder();
    for (String[] kind : KINDS) {
      try {
        Class<?> probe = Class.forName(kind[1]);
        if (!(Boolean) probe.getMethod("isAvailable").invoke(null)) {
          Object cause = probe.getMethod("unavailabilityCause").invoke(null);
          why.append(kind[0]).append(" is on the classpath but unusable (")
              .append(cause).append("); ");
          continue;
        }
        SocketAddress address = (SocketAddress) Class.forName(
            "io.netty.channel.unix.DomainSocketAddress").getConstructor(String.class)
            .newInstance(path);
        EventLoopGroup group = (EventLoopGroup) Class.forName(kind[2])
            .getConstructor(int.class).newInstance(1);
        Class<? extends Channel> channel = Class.forName(kind[3]).asSubclass(Channel.class);
        return new NativeTransport(address, group, channel);
      } catch (ClassNotFoundException | LinkageError e) {
        why.append(kind[0]).append(" is not on the classpath; ");
      } catch (ReflectiveOperationException | RuntimeException e) {
        why.append(kind[0]).append(" failed: ").append(e).append("; ");
      }
    }
    throw new InvalidRequestException("unix: targets need netty's native transport with its "
        + "native library: add io.netty:netty-transport-native-epoll (classifier "
        + "linux-x86_64 or linux-aarch_64) or, on macOS, netty-transport-native-kqueue, of "
        + "the netty version grpc-netty uses; or reach the gateway over loopback TCP (the "
        + "sidecar-tcp overlay). Here: " + why.toString().trim());
  }
}
