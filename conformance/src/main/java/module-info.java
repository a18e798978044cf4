/**
 * The conformance kit: the FP64 reference, the problem catalogue, the tolerance table, the suite and the shrinker.
 *
 * <p>JUnit is needed only by {@code ConformanceSuite.dynamicTests()} and {@code CrossCheck}, which hand out JUnit 5
 * dynamic tests, so it is a static (compile-time) requirement, as it is an optional Maven dependency: a user that
 * only reads the catalogue (jconv bench) runs without it.
 */
module io.github.jconv.conformance {
    requires transitive io.github.jconv;
    requires static org.junit.jupiter.api;

    exports io.github.jconv.conformance;
}
