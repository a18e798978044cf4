package io.github.jconv.cpu;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The data cache sizes the GEMM blocking is derived from: read once from Linux's
 * {@code /sys/devices/system/cpu/cpu0/cache/index*} (level, type, size) where present, else common
 * defaults (L1d 32 KiB, L2 512 KiB, L3 8 MiB). {@code -Djconv.cpu.cache=L1,L2,L3} (bytes, or with a
 * K/M suffix) overrides them, e.g. to try another blocking.
 */
final class CacheSizes {
    static final long DEFAULT_L1 = 32 << 10, DEFAULT_L2 = 512 << 10, DEFAULT_L3 = 8 << 20;
    /** Bytes of the level 1 data cache, the level 2 cache and the level 3 cache of one core's view. */
    static final long L1, L2, L3;
    /** Where the sizes came from: "sysfs", "property" or "defaults". */
    static final String SOURCE;

    static {
        long[] s = {DEFAULT_L1, DEFAULT_L2, DEFAULT_L3};
        String src = "defaults";
        String prop = System.getProperty("jconv.cpu.cache");
        if (prop != null && !prop.isBlank()) {
            String[] parts = prop.split(",");
            for (int i = 0; i < Math.min(3, parts.length); i++) {
                long v = parseSize(parts[i].trim());
                if (v > 0) s[i] = v;
            }
            src = "property";
        } else if (readSysfs(Path.of("/sys/devices/system/cpu/cpu0/cache"), s)) {
            src = "sysfs";
        }
        L1 = s[0];
        L2 = s[1];
        L3 = s[2];
        SOURCE = src;
    }

    private CacheSizes() {
    }

    /** KC: a KC × nr panel of B takes half of L1 (the A panel and the C tile use the rest), within [64, 1024], a multiple of 8. */
    static int kc(int nr, int bytes, long l1) {
        long kc = l1 / 2 / ((long) nr * bytes);
        return (int) Math.max(64, Math.min(1024, kc & ~7L));
    }

    /** MC: the packed MC × kc block of A takes half of L2, within [mr, 1024], a multiple of mr. */
    static int mc(int mr, int kc, int bytes, long l2) {
        long mc = l2 / 2 / ((long) kc * bytes);
        mc = Math.max(mr, Math.min(1024, mc));
        return (int) (mc / mr * mr);
    }

    /** NC: the packed kc × NC block of B takes a quarter of L3, within [nr, 4096], a multiple of nr. */
    static int nc(int nr, int kc, int bytes, long l3) {
        long nc = l3 / 4 / ((long) kc * bytes);
        nc = Math.max(nr, Math.min(4096, nc));
        return (int) (nc / nr * nr);
    }

    /** Fills sizes[level - 1] from a sysfs cache directory; true when at least the L1 data cache was found. */
    static boolean readSysfs(Path dir, long[] sizes) {
        boolean found = false;
        for (int i = 0; i < 8; i++) {
            Path idx = dir.resolve("index" + i);
            if (!Files.isDirectory(idx)) continue;
            try {
                int level = Integer.parseInt(Files.readString(idx.resolve("level")).trim());
                String type = Files.readString(idx.resolve("type")).trim();
                long size = parseSize(Files.readString(idx.resolve("size")).trim());
                if (level < 1 || level > 3 || size <= 0 || type.equals("Instruction")) continue;
                sizes[level - 1] = size;
                if (level == 1) found = true;
            } catch (IOException | RuntimeException e) {
                // an unreadable entry keeps its default
            }
        }
        return found;
    }

    /** "32K" → 32768, "1M" → 1048576, "4096" → 4096; -1 when unreadable. */
    static long parseSize(String s) {
        if (s.isEmpty()) return -1;
        long mul = 1;
        char last = Character.toUpperCase(s.charAt(s.length() - 1));
        if (last == 'K') mul = 1 << 10;
        else if (last == 'M') mul = 1 << 20;
        else if (last == 'G') mul = 1 << 30;
        String digits = mul == 1 ? s : s.substring(0, s.length() - 1);
        try {
            long v = Long.parseLong(digits.trim());
            return v > 0 && v < (1L << 40) ? v * mul : -1;
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
