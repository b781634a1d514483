package io.github.batchnorm4j.spark;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.MathContext;

/**
 * The exact sum of doubles, whatever their order: each value's 53-bit significand is added into
 * 32-bit chunks of a fixed-point accumulator wide enough for every finite double, so no addition
 * rounds. Replicas that sum their shares of a batch this way and add the shares get the same
 * bits however the batch was split. A NaN or an infinity makes the sum that non-finite value,
 * as double addition would.
 */
final class ExactSum {
    /** Chunk k holds multiples of 2^(32k - BIAS); the smallest subnormal is 2^-1074. */
    static final int BIAS = 1088;
    /** Enough chunks for the largest finite double, 2^1024, times 2^63 values, and a spare. */
    private static final int CHUNKS = (BIAS + 1024 + 64) / 32 + 2;
    /** Additions after which chunks carry, long before a chunk could overflow (2^31 each). */
    private static final int CARRY_EVERY = 1 << 29;
    private static final long MASK = 0xffffffffL;

    private final long[] chunks = new long[CHUNKS];
    private int sinceCarry;
    /** The sum of the non-finite values added; 0 while there are none. */
    private double nonFinite;

    void add(double value) {
        long bits = Double.doubleToRawLongBits(value);
        int exponent = (int) (bits >>> 52) & 0x7ff;
        if (exponent == 0x7ff) {
            nonFinite += value;
            return;
        }
        long significand = bits & ((1L << 52) - 1);
        if (exponent == 0) {
            exponent = 1;
        } else {
            significand |= 1L << 52;
        }
        if (significand == 0) {
            return;
        }
        // value = significand * 2^(exponent - 1075); position in the accumulator's bits:
        int shift = exponent - 1075 + BIAS;
        int k = shift >>> 5;
        int s = shift & 31;
        long low = (significand & MASK) << s;
        long high = (significand >>> 32) << s;
        if (bits < 0) {
            chunks[k] -= low & MASK;
            chunks[k + 1] -= (low >>> 32) + (high & MASK);
            chunks[k + 2] -= high >>> 32;
        } else {
            chunks[k] += low & MASK;
            chunks[k + 1] += (low >>> 32) + (high & MASK);
            chunks[k + 2] += high >>> 32;
        }
        if (++sinceCarry == CARRY_EVERY) {
            carry();
        }
    }

    /** Moves each chunk's bits above 32 into the next one: the value stays, the chunks shrink. */
    private void carry() {
        for (int k = 0; k < CHUNKS - 1; k++) {
            long c = chunks[k] >> 32;
            chunks[k] -= c << 32;
            chunks[k + 1] += c;
        }
        sinceCarry = 0;
    }

    /** The sum as an integer multiple of 2^-BIAS, exactly; meaningless if {@link #isFinite} is false. */
    BigInteger scaled() {
        BigInteger total = BigInteger.ZERO;
        for (int k = CHUNKS - 1; k >= 0; k--) {
            total = total.shiftLeft(32).add(BigInteger.valueOf(chunks[k]));
        }
        return total;
    }

    boolean isFinite() {
        return nonFinite == 0;
    }

    /** The non-finite sum of the non-finite values added (NaN, or an infinity). */
    double nonFinite() {
        return nonFinite;
    }

    /** {@code numerator / denominator} rounded to a double, through 40 significant digits (a double has 17). */
    static double quotient(BigInteger numerator, BigInteger denominator) {
        return new BigDecimal(numerator).divide(new BigDecimal(denominator), new MathContext(40)).doubleValue();
    }
}
