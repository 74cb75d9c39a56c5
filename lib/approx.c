/*
 * approx.c — fixed-point nonlinear approximations. See approx.h and docs/numerics.md.
 *
 * Read each function as a list of share-level operations: "+" and "-" are local, mul(a, b, s)
 * is a secret product followed by a truncation, bit * value is a secret product without one,
 * lt() is a secure comparison. Loops run over public counts only.
 */
#include "approx.h"

#include <math.h>

#define F MIMIR_APPROX_FRAC_BITS

/* P(u) ~ exp(u) on [-2, 0], t = u + 1: `scripts/exp-coeffs` (minimax, max abs error 1.2e-6).
 * exp(x) = P(x / 8)^8 on [-16, 0]. */
const double mimir_approx_exp_coeffs[MIMIR_APPROX_EXP_DEGREE + 1] = {
    0.46575960759365087,   0.41582083069942571,    0.099877553788439988,
    0.016310615545139597,  0.002013860495664611,   0.00019973092147367131,
    1.6619740550856302e-05,
};

/* h(u) = gelu(u) - u / 2 on [0, 4], t = u / 2 - 1: `scripts/exp-coeffs --func gelu`
 * (minimax, max abs error 2.905e-06). */
const double mimir_approx_gelu_coeffs[MIMIR_APPROX_GELU_DEGREE + 1] = {
    0.94770382283609855, 1.0562861766467382, 0.024511018332524403, -0.051647167145557761,
    0.029725226731410367, -0.0058631495778084909, -0.0018617100246528901, 0.0012760666407704946,
    -0.00014575416867571543, -8.8531116081428917e-05, 3.3696347792518727e-05,
};

mimir_r64 mimir_approx_const(double x, unsigned s)
{
    return (mimir_r64)(int64_t)llround(ldexp(x, (int)s));
}

mimir_r64 mimir_approx_mul(mimir_r64 a, mimir_r64 b, unsigned s)
{
    return mimir_fixed_trunc(a * b, s);
}

mimir_r64 mimir_approx_lt(mimir_r64 a, mimir_r64 b)
{
    return (a - b) >> 63; /* the sign bit, never a branch */
}

mimir_r64 mimir_approx_select(mimir_r64 bit, mimir_r64 a, mimir_r64 b)
{
    return b + bit * (a - b);
}

/* sum_k c_k T_k(t) by Clenshaw's recurrence b_k = c_k + 2 t b_(k+1) - b_(k+2), at F bits:
 * one secret product per degree, and only the small Chebyshev coefficients as constants. */
static mimir_r64 clenshaw(const double *c, int degree, mimir_r64 t)
{
    mimir_r64 t2 = t + t, b1 = 0, b2 = 0;
    for (int k = degree; k >= 1; k--) {
        mimir_r64 b0 = mimir_approx_const(c[k], F) + mimir_approx_mul(t2, b1, F) - b2;
        b2 = b1;
        b1 = b0;
    }
    return mimir_approx_const(c[0], F) + mimir_approx_mul(t, b1, F) - b2;
}

mimir_r64 mimir_approx_exp(mimir_r64 x, unsigned f)
{
    // below = [x < -16]; x is clamped to -16 so the polynomial stays in its range
    mimir_r64 lo = mimir_approx_const(MIMIR_APPROX_EXP_LO, f);
    mimir_r64 below = mimir_approx_lt(x, lo);
    mimir_r64 xc = mimir_approx_select(below, lo, x);
    // u = x / 8 in [-2, 0] and t = u + 1 in [-1, 1], at F bits
    mimir_r64 t = mimir_approx_mul(xc, mimir_approx_const(1.0 / (1 << MIMIR_APPROX_EXP_SQUARINGS),
                                                          F), f) +
                  mimir_approx_const(1.0, F);
    mimir_r64 y = clenshaw(mimir_approx_exp_coeffs, MIMIR_APPROX_EXP_DEGREE, t); // exp(x / 8)
    for (int i = 0; i < MIMIR_APPROX_EXP_SQUARINGS; i++)
        y = mimir_approx_mul(y, y, F); // exp(x / 4), exp(x / 2), exp(x)
    return y - below * y;             // exactly 0 below -16
}

size_t mimir_approx_recip_guess(unsigned log2_max, mimir_r64 th[MIMIR_APPROX_RECIP_GUESSES],
                                mimir_r64 g[MIMIR_APPROX_RECIP_GUESSES + 1])
{
    const double r = exp2(1.0 / MIMIR_APPROX_RECIP_GUESS_STEPS);
    size_t m = log2_max >= 1 ? (size_t)MIMIR_APPROX_RECIP_GUESS_STEPS * log2_max - 1 : 0;
    g[0] = mimir_approx_const(2.0 / (1.0 + r), F);
    for (size_t k = 1; k <= m; k++) {
        double a = exp2((double)k / MIMIR_APPROX_RECIP_GUESS_STEPS);
        th[k - 1] = mimir_approx_const(a, F);
        g[k] = mimir_approx_const(2.0 / (a * (1.0 + r)), F);
    }
    return m;
}

size_t mimir_approx_rsqrt_guess(int log2_min, int log2_max,
                                mimir_r64 th[MIMIR_APPROX_RSQRT_GUESSES],
                                mimir_r64 g[MIMIR_APPROX_RSQRT_GUESSES + 1])
{
    const double sr = exp2(0.5 / MIMIR_APPROX_RSQRT_GUESS_STEPS); /* sqrt of a segment's ratio */
    size_t m = log2_max > log2_min
                   ? (size_t)MIMIR_APPROX_RSQRT_GUESS_STEPS * (size_t)(log2_max - log2_min) - 1
                   : 0;
    g[0] = mimir_approx_const(2.0 / (sqrt(ldexp(1.0, log2_min)) * (1.0 + sr)), F);
    for (size_t k = 1; k <= m; k++) {
        double a = exp2(log2_min + (double)k / MIMIR_APPROX_RSQRT_GUESS_STEPS);
        th[k - 1] = mimir_approx_const(a, F);
        g[k] = mimir_approx_const(2.0 / (sqrt(a) * (1.0 + sr)), F);
    }
    return m;
}

mimir_r64 mimir_approx_recip(mimir_r64 x, unsigned log2_max)
{
    // y0 = g_k on quarter octave k: g_0 + sum_k [x >= th_k] (g_k - g_(k-1))
    mimir_r64 th[MIMIR_APPROX_RECIP_GUESSES], g[MIMIR_APPROX_RECIP_GUESSES + 1];
    size_t m = mimir_approx_recip_guess(log2_max, th, g);
    mimir_r64 y = g[0];
    for (size_t k = 1; k <= m; k++) {
        mimir_r64 ge = 1 - mimir_approx_lt(x, th[k - 1]);
        y += ge * (g[k] - g[k - 1]);
    }
    // Newton: y <- y (2 - x y); the relative error squares each step
    mimir_r64 two = mimir_approx_const(2.0, F);
    for (int i = 0; i < MIMIR_APPROX_NEWTON_ITERS; i++)
        y = mimir_approx_mul(y, two - mimir_approx_mul(x, y, F), F);
    return y;
}

mimir_r64 mimir_approx_rsqrt(mimir_r64 v, int log2_min, int log2_max)
{
    // y0 = g_k on half octave k, selected as in recip
    mimir_r64 th[MIMIR_APPROX_RSQRT_GUESSES], g[MIMIR_APPROX_RSQRT_GUESSES + 1];
    size_t m = mimir_approx_rsqrt_guess(log2_min, log2_max, th, g);
    mimir_r64 y = g[0];
    for (size_t k = 1; k <= m; k++) {
        mimir_r64 ge = 1 - mimir_approx_lt(v, th[k - 1]);
        y += ge * (g[k] - g[k - 1]);
    }
    // Newton: y <- y (3 - v y^2) / 2; the halving is folded into the last truncation
    mimir_r64 three = mimir_approx_const(3.0, F);
    for (int i = 0; i < MIMIR_APPROX_NEWTON_ITERS; i++) {
        mimir_r64 vy = mimir_approx_mul(v, y, F);
        mimir_r64 vyy = mimir_approx_mul(vy, y, F);
        y = mimir_approx_mul(y, three - vyy, F + 1);
    }
    return y;
}

mimir_r64 mimir_approx_gelu(mimir_r64 x, unsigned f)
{
    // neg = [x < 0]; u = |x|; relu = x - neg x
    mimir_r64 neg = mimir_approx_lt(x, 0);
    mimir_r64 u = x - 2 * (neg * x);
    mimir_r64 relu = x - neg * x;
    mimir_r64 in = mimir_approx_lt(u, mimir_approx_const(MIMIR_APPROX_GELU_BOUND, f));
    // t = u / 2 - 1 in [-1, 1] at F bits (u < 4 where it matters)
    mimir_r64 t = mimir_fixed_trunc(u << (F - f), 1) - mimir_approx_const(1.0, F);
    mimir_r64 h = mimir_fixed_trunc(clenshaw(mimir_approx_gelu_coeffs, MIMIR_APPROX_GELU_DEGREE, t), F - f);
    // gelu = relu + in (h(u) - u / 2)
    return relu + in * (h - mimir_fixed_trunc(u, 1));
}
