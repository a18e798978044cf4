package io.github.jconv.tools.bench;

import picocli.CommandLine.Command;

import java.util.concurrent.Callable;

/** The benchmark command (being written; see issue 4). */
@Command(name = "bench", description = "Times the benchmark problems P1-P8 and D1 (not written yet).")
public final class BenchCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        System.err.println("bench: not written yet");
        return 2;
    }
}
