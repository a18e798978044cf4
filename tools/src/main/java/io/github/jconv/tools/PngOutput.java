package io.github.jconv.tools;

import picocli.CommandLine.Option;

import java.nio.file.Path;

/**
 * {@code -o/--png}, the PNG a command writes (erf, overlap): a picocli mixin. Each command creates it with its own
 * default file name, which is the field's initial value, so help shows it as {@code ${DEFAULT-VALUE}} and the check
 * before any work gives it as the example.
 */
final class PngOutput {
    private final String defaultName;

    @Option(names = {"-o", "--png"}, description = "PNG to write (default ${DEFAULT-VALUE})")
    Path png;

    PngOutput(String defaultName) {
        this.defaultName = defaultName;
        this.png = Path.of(defaultName);
    }

    /** The file to write. */
    Path path() {
        return png;
    }

    /** Creates the missing folders and checks that the file can be written, before the command does any work. */
    void checkWritable() {
        OutputFiles.checkWritable("--png", png, defaultName);
    }
}
