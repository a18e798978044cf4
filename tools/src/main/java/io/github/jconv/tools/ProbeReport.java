package io.github.jconv.tools;

import java.util.List;
import java.util.Map;

/** What {@code probe} found, in the form printed as JSON (and read back from an isolated child JVM). */
record ProbeReport(String java, String os, String selection, List<ProviderReport> providers, boolean passed, String verdict) {

    /** One provider: its probe, and for each device the known-answer capability matrix. */
    record ProviderReport(String name, int priority, boolean available, String reason, String fix, boolean isolated,
                          List<DeviceReport> devices) {
    }

    /** One device. {@code error} is set when the device could not be opened; then there are no cells. */
    record DeviceReport(int index, String name, String type, long memoryBytes, int computeUnits,
                        Map<String, String> properties, String error, List<CellReport> capabilities,
                        boolean passed, String selfTest) {
    }

    /**
     * One cell of the operation × dims × dtype matrix. {@code status}: pass (every pass gave the known
     * answer), fail (a wrong answer), error (it threw), unsupported (the backend declares it unsupported).
     */
    record CellReport(String operation, int dims, String dtype, String status, String detail) {
        static final String PASS = "pass";
        static final String FAIL = "fail";
        static final String ERROR = "error";
        static final String UNSUPPORTED = "unsupported";
    }
}
