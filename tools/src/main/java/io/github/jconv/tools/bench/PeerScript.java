package io.github.jconv.tools.bench;

import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Finds the PyTorch peer script without depending on the working directory: first
 * {@code peers/torch_peer.py} of the tools module beside the running jar or classes folder
 * ({@code tools/target/jconv.jar} → {@code tools/peers/torch_peer.py}, editable in a clone), else the
 * copy packed in the jar, written to a temporary file that is deleted when the JVM ends.
 */
final class PeerScript {
    static final String NAME = "torch_peer.py";
    /** Where the build packs the script (tools/pom.xml adds tools/peers as a resource folder). */
    static final String RESOURCE = "/io/github/jconv/tools/peers/" + NAME;

    private PeerScript() {
    }

    /** The script to run: beside {@code codeSource} (a jar or a classes folder) when there, else extracted from the jar. */
    static Path locate(Path codeSource) {
        Path beside = besideCodeSource(codeSource);
        if (beside != null) return beside;
        return extracted();
    }

    static Path locate() {
        return locate(codeSource());
    }

    /** {@code <module>/peers/torch_peer.py} for a code source at {@code <module>/target/x.jar} or {@code <module>/target/classes}. */
    static Path besideCodeSource(Path codeSource) {
        if (codeSource == null) return null;
        Path target = codeSource.toAbsolutePath().getParent();
        if (target == null || target.getParent() == null) return null;
        Path script = target.getParent().resolve("peers").resolve(NAME);
        return Files.isRegularFile(script) ? script : null;
    }

    static Path codeSource() {
        try {
            var src = PeerScript.class.getProtectionDomain().getCodeSource();
            return src == null ? null : Path.of(src.getLocation().toURI());
        } catch (URISyntaxException | SecurityException | IllegalArgumentException e) {
            return null;
        }
    }

    /** The packed copy as a temporary file. */
    static Path extracted() {
        try (InputStream in = PeerScript.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("the peer script " + NAME + " is neither beside " + codeSource() + " nor packed in it;"
                        + " rebuild the tools jar (mvn -B -q -DskipTests package) or pass --peer-script tools/peers/" + NAME);
            }
            Path tmp = Files.createTempFile("jconv-", "-" + NAME);
            tmp.toFile().deleteOnExit();
            Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
            return tmp;
        } catch (IOException e) {
            throw new IllegalStateException("cannot write the peer script to a temporary file (" + e.getMessage()
                    + "); pass --peer-script tools/peers/" + NAME, e);
        }
    }
}
