package io.github.batchnorm4j.layer;

import io.github.batchnorm4j.RunningUpdate;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** A layer's options as Keras-named text and back: {@code get_config} and {@code from_config}. */
final class LayerConfig {
    private LayerConfig() {}

    static final List<String> KEYS = List.of("channels", "axis", "momentum", "momentum_convention",
            "unbiased_running_variance", "epsilon", "center", "scale", "beta_initializer",
            "gamma_initializer", "moving_mean_initializer", "moving_variance_initializer", "renorm",
            "renorm_clipping", "renorm_momentum", "virtual_batch_size", "mode", "track_running_stats",
            "skip_non_finite_updates");

    static Map<String, String> write(BatchNormLayer.Builder b) {
        Map<String, String> config = new LinkedHashMap<>();
        RunningUpdate update = b.runningUpdate;
        config.put("channels", Integer.toString(b.channels));
        config.put("axis", Integer.toString(b.axis));
        config.put("momentum", update.cumulative() ? "None" : Double.toString(update.momentum()));
        config.put("momentum_convention", update.convention().name().toLowerCase(Locale.ROOT));
        config.put("unbiased_running_variance", Boolean.toString(update.unbiasedVariance()));
        config.put("epsilon", Float.toString(b.epsilon));
        config.put("center", Boolean.toString(b.center));
        config.put("scale", Boolean.toString(b.scale));
        config.put("beta_initializer", Float.toString(b.betaInitializer));
        config.put("gamma_initializer", Float.toString(b.gammaInitializer));
        config.put("moving_mean_initializer", Float.toString(b.movingMeanInitializer));
        config.put("moving_variance_initializer", Float.toString(b.movingVarianceInitializer));
        config.put("renorm", Boolean.toString(b.renorm));
        config.put("renorm_clipping", "rmax=" + b.rmax + ",rmin=" + b.rmin + ",dmax=" + b.dmax);
        config.put("renorm_momentum", Double.toString(b.renormMomentum));
        config.put("virtual_batch_size", b.virtualBatchSize == 0 ? "None" : Integer.toString(b.virtualBatchSize));
        config.put("mode", Integer.toString(b.mode));
        config.put("track_running_stats", Boolean.toString(b.trackRunningStats));
        config.put("skip_non_finite_updates", Boolean.toString(b.skipNonFiniteUpdates));
        return config;
    }

    static BatchNormLayer.Builder read(Map<String, String> config, BatchNormLayer.Builder b) {
        if (config == null) {
            throw new NullPointerException("config must not be null");
        }
        for (Map.Entry<String, String> e : config.entrySet()) {
            if (!KEYS.contains(e.getKey())) {
                throw new IllegalArgumentException("config key '" + e.getKey() + "' is unknown; the keys are " + KEYS);
            }
            if (e.getValue() == null) {
                throw new IllegalArgumentException("config key '" + e.getKey() + "' has no value");
            }
        }
        if (!config.containsKey("channels")) {
            throw new IllegalArgumentException("config key 'channels' is required (the channel axis' length)");
        }
        for (String key : KEYS) {
            String value = config.get(key);
            if (value == null || key.startsWith("momentum") || key.equals("unbiased_running_variance")) {
                continue;
            }
            try {
                apply(b, key, value.strip());
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("config key '" + key + "' = '" + value + "': " + e.getMessage(), e);
            }
        }
        b.runningUpdate(runningUpdate(config));
        return b;
    }

    private static void apply(BatchNormLayer.Builder b, String key, String value) {
        switch (key) {
            case "channels" -> b.channels(integer(value));
            case "axis" -> b.axis(integer(value));
            case "epsilon" -> b.epsilon(number(value));
            case "center" -> b.center(bool(value));
            case "scale" -> b.scale(bool(value));
            case "beta_initializer" -> b.betaInitializer(initializer(value));
            case "gamma_initializer" -> b.gammaInitializer(initializer(value));
            case "moving_mean_initializer" -> b.movingMeanInitializer(initializer(value));
            case "moving_variance_initializer" -> b.movingVarianceInitializer(initializer(value));
            case "renorm" -> b.renorm(bool(value));
            case "renorm_clipping" -> clipping(b, value);
            case "renorm_momentum" -> b.renormMomentum(real(value));
            case "virtual_batch_size" -> b.virtualBatchSize(isNone(value) ? 0 : positive(value));
            case "mode" -> b.mode(integer(value));
            case "track_running_stats" -> b.trackRunningStats(bool(value));
            case "skip_non_finite_updates" -> b.skipNonFiniteUpdates(bool(value));
            default -> throw new IllegalStateException(key);
        }
    }

    private static RunningUpdate runningUpdate(Map<String, String> config) {
        String conventionText = config.getOrDefault("momentum_convention", "keras").strip();
        RunningUpdate.Convention convention;
        try {
            convention = RunningUpdate.Convention.valueOf(conventionText.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("config key 'momentum_convention' = '" + conventionText
                    + "': must be keras, pytorch, new_batch_weight or cumulative_average", e);
        }
        boolean defaultUnbiased = convention == RunningUpdate.Convention.PYTORCH;
        String unbiasedText = config.get("unbiased_running_variance");
        boolean unbiased;
        try {
            unbiased = unbiasedText == null ? defaultUnbiased : bool(unbiasedText.strip());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("config key 'unbiased_running_variance' = '" + unbiasedText
                    + "': " + e.getMessage(), e);
        }
        String momentumText = config.get("momentum");
        if (convention == RunningUpdate.Convention.CUMULATIVE_AVERAGE) {
            if (momentumText != null && !isNone(momentumText.strip())) {
                throw new IllegalArgumentException("config key 'momentum' = '" + momentumText
                        + "': must be None with momentum_convention cumulative_average");
            }
            return RunningUpdate.cumulativeAverage(unbiased);
        }
        try {
            if (momentumText != null && isNone(momentumText.strip())) {
                if (convention != RunningUpdate.Convention.PYTORCH) {
                    throw new IllegalArgumentException("None (the cumulative average) takes momentum_convention pytorch or cumulative_average");
                }
                return RunningUpdate.cumulativeAverage(unbiased);
            }
            return switch (convention) {
                case KERAS -> {
                    requireDefault(unbiased, false, convention);
                    yield RunningUpdate.keras(momentumText == null ? RunningUpdate.KERAS_DEFAULT_MOMENTUM : real(momentumText.strip()));
                }
                case PYTORCH -> {
                    requireDefault(unbiased, true, convention);
                    yield RunningUpdate.pytorch(momentumText == null ? RunningUpdate.PYTORCH_DEFAULT_MOMENTUM : real(momentumText.strip()));
                }
                default -> RunningUpdate.exponential(
                        momentumText == null ? RunningUpdate.PYTORCH_DEFAULT_MOMENTUM : real(momentumText.strip()), unbiased);
            };
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("config key 'momentum' = '" + momentumText + "': " + e.getMessage(), e);
        }
    }

    private static void requireDefault(boolean unbiased, boolean expected, RunningUpdate.Convention convention) {
        if (unbiased != expected) {
            throw new IllegalArgumentException("unbiased_running_variance must be " + expected + " with momentum_convention "
                    + convention.name().toLowerCase(Locale.ROOT) + " (use new_batch_weight to choose)");
        }
    }

    private static void clipping(BatchNormLayer.Builder b, String value) {
        double rmax = Double.POSITIVE_INFINITY;
        double rmin = 0;
        double dmax = Double.POSITIVE_INFINITY;
        if (!isNone(value) && !value.isEmpty()) {
            for (String part : value.split(",")) {
                String[] kv = part.split("=", 2);
                if (kv.length != 2) {
                    throw new IllegalArgumentException("must be None or rmax=..,rmin=..,dmax=.. (any of them), got part '" + part + "'");
                }
                double v = real(kv[1].strip());
                switch (kv[0].strip()) {
                    case "rmax" -> rmax = v;
                    case "rmin" -> rmin = v;
                    case "dmax" -> dmax = v;
                    default -> throw new IllegalArgumentException("clip '" + kv[0].strip() + "' is unknown: rmax, rmin or dmax");
                }
            }
        }
        b.renormClipping(rmax, rmin, dmax);
    }

    private static boolean isNone(String value) {
        return value.equals("None") || value.equals("null");
    }

    private static int integer(String value) {
        try {
            return Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("must be an integer", e);
        }
    }

    private static int positive(String value) {
        int v = integer(value);
        if (v < 1) {
            throw new IllegalArgumentException("must be at least 1 or None");
        }
        return v;
    }

    private static double real(String value) {
        try {
            return Double.parseDouble(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("must be a number", e);
        }
    }

    private static float number(String value) {
        try {
            return Float.parseFloat(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("must be a number", e);
        }
    }

    private static float initializer(String value) {
        return switch (value) {
            case "zeros" -> 0f;
            case "ones" -> 1f;
            default -> number(value);
        };
    }

    private static boolean bool(String value) {
        if (value.equalsIgnoreCase("true")) {
            return true;
        }
        if (value.equalsIgnoreCase("false")) {
            return false;
        }
        throw new IllegalArgumentException("must be true or false");
    }
}
