import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.ZooKeeper;

/**
 * A ZooKeeper client without the hosts' certificate, for e2e.sh (run as a source file with
 * havnd.jar on the class path): it connects to SERVER without TLS, tries to list DIR's children
 * and to create DIR2/forged, and prints each outcome on a line of its own ("zk-stranger: ls DIR:
 * NOAUTH"), among the client's log lines. Exit 0 only when both were refused for want of permission.
 */
public final class ZkStranger {
    public static void main(String[] args) throws Exception {
        String server = args[0];
        String list = args[1];
        String create = args[2] + "/forged";
        CountDownLatch connected = new CountDownLatch(1);
        ZooKeeper zk = new ZooKeeper(server, 10_000, e -> {
            if (e.getState() == Watcher.Event.KeeperState.SyncConnected) {
                connected.countDown();
            }
        });
        try {
            if (!connected.await(20, TimeUnit.SECONDS)) {
                System.out.println("zk-stranger: no connection to " + server);
                System.exit(2);
            }
            String ls = outcome(() -> zk.getChildren(list, false));
            String cr = outcome(() -> zk.create(create, "{}".getBytes(StandardCharsets.UTF_8),
                    ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT));
            System.out.println("zk-stranger: ls " + list + ": " + ls);
            System.out.println("zk-stranger: create " + create + ": " + cr);
            System.exit(ls.equals("NOAUTH") && cr.equals("NOAUTH") ? 0 : 1);
        } finally {
            zk.close();
        }
    }

    private interface Call {
        Object run() throws Exception;
    }

    private static String outcome(Call c) throws InterruptedException {
        try {
            return "OK " + c.run();
        } catch (KeeperException e) {
            return e.code().name();
        } catch (InterruptedException e) {
            throw e;
        } catch (Exception e) {
            return e.toString();
        }
    }
}
