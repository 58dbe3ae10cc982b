// Lists the Kafka topics that start with a prefix, one "name partitions" line each, through
// Kafka's own admin client (the jars of the local stack); with --delete, deletes them instead.
// Run as a single-file program:
//   java -cp "$CACHE/kafka-<version>/libs/*" dev/chart-test/ListTopics.java BOOTSTRAP PREFIX [--delete]
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;

public class ListTopics {
  public static void main(String[] args) throws Exception {
    Properties props = new Properties();
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
    props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
    try (Admin admin = Admin.create(props)) {
      var names = admin.listTopics().names().get(20, TimeUnit.SECONDS).stream().filter(n -> n.startsWith(args[1])).toList();
      if (args.length > 2 && args[2].equals("--delete")) {
        admin.deleteTopics(names).all().get(20, TimeUnit.SECONDS);
        return;
      }
      var described = new TreeMap<>(admin.describeTopics(names).allTopicNames().get(20, TimeUnit.SECONDS));
      described.forEach((name, d) -> System.out.println(name + " " + d.partitions().size()));
    }
  }
}
