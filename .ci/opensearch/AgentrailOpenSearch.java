// A minimal single-node OpenSearch assembled from Maven Central jars (no distribution tarball
// is reachable here). The distribution's launcher (Bootstrap) loads plugins from modules/
// directories with descriptors that the Maven jars do not carry, so this launcher starts the
// same org.opensearch.node.Node with the module plugins passed as classpath plugins, which is
// the constructor OpenSearch's own test clusters use. Settings come from system properties
// (-Dos.http.port=…); everything else is stock.
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.concurrent.CountDownLatch;

import org.opensearch.analysis.common.CommonAnalysisPlugin;
import org.opensearch.common.logging.LogConfigurator;
import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.node.Node;
import org.opensearch.painless.PainlessPlugin;
import org.opensearch.plugins.Plugin;
import org.opensearch.transport.Netty4Plugin;

public final class AgentrailOpenSearch extends Node {
    private AgentrailOpenSearch(Environment env, List<Class<? extends Plugin>> plugins) {
        super(env, plugins, true);
    }

    private static String prop(String name) {
        String v = System.getProperty("os." + name);
        if (v == null || v.isEmpty()) throw new IllegalArgumentException("missing -Dos." + name);
        return v;
    }

    public static void main(String[] args) throws Exception {
        Path home = Paths.get(prop("home")).toAbsolutePath();
        Path config = home.resolve("config");
        Files.createDirectories(config);
        Settings settings = Settings.builder()
            .put("path.home", home.toString())
            .put("path.data", home.resolve("data").toString())
            .put("path.logs", home.resolve("logs").toString())
            .put("cluster.name", "agentrail")
            .put("node.name", "agentrail-0")
            .put("network.host", "127.0.0.1")
            .put("http.port", prop("http.port"))
            .put("transport.port", prop("transport.port"))
            .put("discovery.type", "single-node")
            // One small node for tests: never refuse writes because the shared disk is busy.
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            .put("action.auto_create_index", true)
            .build();
        LogConfigurator.registerErrorListener();
        LogConfigurator.configureWithoutConfig(settings);
        Environment env = new Environment(settings, config);
        Node node = new AgentrailOpenSearch(env, List.of(Netty4Plugin.class, CommonAnalysisPlugin.class, PainlessPlugin.class));
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
            } catch (Exception e) {
                e.printStackTrace();
            } finally {
                stopped.countDown();
            }
        }));
        node.start();
        System.out.println("agentrail-opensearch: started");
        stopped.await();
    }
}
