package io.github.batchnorm4j.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The exact sum against BigDecimal's, whatever the order and however the values are split. */
class ExactSumTest {

    /** Values over the whole range of doubles: huge, tiny, subnormal, both signs, cancelling. */
    private static List<Double> values() {
        Random random = new Random(7);
        List<Double> values = new ArrayList<>();
        for (int i = 0; i < 2000; i++) {
            values.add(random.nextGaussian() * Math.pow(2, random.nextInt(200) - 100));
        }
        values.add(Double.MAX_VALUE);
        values.add(-Double.MAX_VALUE);
        values.add(Double.MIN_VALUE);
        values.add(3 * Double.MIN_VALUE);
        values.add(-Double.MIN_NORMAL);
        values.add(1e300);
        values.add(1.0);
        values.add(-1e300);
        values.add(0.0);
        values.add(-0.0);
        return values;
    }

    /** The exact sum as a BigDecimal: its scaled integer over 2^BIAS, a thousand digits. */
    private static BigDecimal value(ExactSum sum) {
        return new BigDecimal(sum.scaled()).divide(BigDecimal.TWO.pow(ExactSum.BIAS));
    }

    @Test
    void equalsTheBigDecimalSumInAnyOrder() {
        List<Double> values = values();
        BigDecimal want = BigDecimal.ZERO;
        for (double v : values) {
            want = want.add(new BigDecimal(v));
        }
        for (long seed = 0; seed < 5; seed++) {
            Collections.shuffle(values, new Random(seed));
            ExactSum sum = new ExactSum();
            values.forEach(sum::add);
            assertTrue(sum.isFinite());
            assertEquals(0, want.compareTo(value(sum)), "order " + seed);
        }
    }

    @Test
    void partsAddUpToTheWhole() {
        List<Double> values = values();
        ExactSum whole = new ExactSum();
        values.forEach(whole::add);
        ExactSum first = new ExactSum();
        ExactSum second = new ExactSum();
        for (int i = 0; i < values.size(); i++) {
            (i % 3 == 0 ? first : second).add(values.get(i));
        }
        assertEquals(whole.scaled(), first.scaled().add(second.scaled()));
    }

    @Test
    void carriesKeepTheValueOverManyAdditions() {
        ExactSum sum = new ExactSum();
        long n = (1L << 29) + 1000; // past the first carry
        for (long i = 0; i < n; i++) {
            sum.add(0.75);
        }
        assertEquals(0, new BigDecimal("0.75").multiply(BigDecimal.valueOf(n)).compareTo(value(sum)));
    }

    @Test
    void nonFiniteValuesMakeTheSumNonFinite() {
        ExactSum sum = new ExactSum();
        sum.add(1.0);
        sum.add(Double.POSITIVE_INFINITY);
        assertEquals(Double.POSITIVE_INFINITY, sum.nonFinite());
        sum.add(Double.NEGATIVE_INFINITY);
        assertTrue(Double.isNaN(sum.nonFinite()));
    }
}
