package io.github.jconv.tools;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Checks, before any work, that a file the command will write can be written. */
public final class OutputFiles {
    private OutputFiles() {
    }

    /**
     * Creates the missing parent folders of {@code file} and checks that it can be written: not a
     * folder, and either writable or new in a writable folder. Throws an {@link IllegalArgumentException}
     * naming {@code option} and the path otherwise.
     */
    public static void checkWritable(String option, Path file, String example) {
        if (file == null) return;
        Path abs = file.toAbsolutePath();
        String why = null;
        try {
            if (Files.isDirectory(abs)) {
                why = "is a folder";
            } else {
                Path parent = abs.getParent();
                if (parent != null) Files.createDirectories(parent);
                if (Files.exists(abs) ? !Files.isWritable(abs) : parent != null && !Files.isWritable(parent)) {
                    why = "cannot be written (no permission)";
                }
            }
        } catch (IOException | SecurityException e) {
            why = "cannot be written (" + e.getClass().getSimpleName() + ": " + e.getMessage() + ")";
        }
        if (why != null) throw new IllegalArgumentException(option + " = " + file + ": " + why + "; give a writable path, e.g. " + option + " " + example);
    }
}
