#!/usr/bin/env python3
"""Expected values for tests/unit/test_optimizers.c, from Keras 3's update
rules (keras/src/optimizers/*.py, base_optimizer.py) in float32 arithmetic:
every operation rounded to float32 as the TF backend computes it. Needs only
the standard library. The model: Dense(2, use_bias=False) on x = [[1]], loss
MSE against y = [[1.25, 0.75]]: the gradient of kernel element i is
w_i - y_i (2 (w - y) / 2, exact in float32). Two steps from w = [0.5, -1.5].

Run: python3 tests/unit/optimizer_reference.py  (prints C initializers)."""
import math
import struct


def f(x):
    return struct.unpack("f", struct.pack("f", x))[0]


def add(a, b): return f(a + b)
def sub(a, b): return f(a - b)
def mul(a, b): return f(a * b)
def div(a, b): return f(a / b) if b != 0 else (math.inf if a > 0 else -math.inf)
def sqrt(a): return f(math.sqrt(a))
def pw(a, b): return f(math.pow(a, b))
def sq(a): return mul(a, a)
def sign(a): return 1.0 if a > 0 else (-1.0 if a < 0 else 0.0)


W0 = [0.5, -1.5]
Y = [1.25, 0.75]


def grads(w):
    return [sub(w[i], Y[i]) for i in range(2)]


def run(update, steps=2, state=None, hyper=None):
    """update(w_i, g_i, slots_i, t, lr) -> new w_i; returns w after each step"""
    w = [f(v) for v in W0]
    slots = [dict(state or {}) for _ in w]
    out = []
    for step in range(steps):
        g = grads(w)
        t = float(step + 1)
        w = [update(w[i], g[i], slots[i], t) for i in range(2)]
        out.append(list(w))
    return out


LR = f(0.1)


def sgd_momentum_nesterov(w, g, s, t):
    mu = f(0.9)
    m = s.get("m", 0.0)
    m = sub(mul(m, mu), mul(g, LR))
    s["m"] = m
    return add(w, sub(mul(m, mu), mul(g, LR)))


def rmsprop_centered_momentum(w, g, s, t):
    rho, eps, mom = f(0.9), f(1e-7), f(0.5)
    v = add(mul(rho, s.get("v", 0.0)), mul(f(1 - 0.9), sq(g)))
    a = add(mul(rho, s.get("a", 0.0)), mul(f(1 - 0.9), g))
    s["v"], s["a"] = v, a
    inc = div(mul(LR, g), sqrt(add(sub(v, sq(a)), eps)))
    m = add(mul(mom, s.get("m", 0.0)), inc)
    s["m"] = m
    return sub(w, m)


def adam_like(amsgrad, wd):
    def upd(w, g, s, t):
        if wd:
            w = sub(w, mul(mul(w, f(wd)), LR))
        b1, b2, eps = 0.9, 0.999, f(1e-7)
        b1p, b2p = pw(f(b1), t), pw(f(b2), t)
        alpha = div(mul(LR, sqrt(sub(1.0, b2p))), sub(1.0, b1p))
        m = add(s.get("m", 0.0), mul(sub(g, s.get("m", 0.0)), f(1 - b1)))
        v = add(s.get("v", 0.0), mul(sub(sq(g), s.get("v", 0.0)), f(1 - b2)))
        s["m"], s["v"] = m, v
        if amsgrad:
            v = max(s.get("vh", 0.0), v)
            s["vh"] = v
        return sub(w, div(mul(m, alpha), add(sqrt(v), eps)))
    return upd


def adagrad(w, g, s, t):
    acc = add(s.get("acc", f(0.1)), sq(g))
    s["acc"] = acc
    return sub(w, div(mul(LR, g), sqrt(add(acc, f(1e-7)))))


def adadelta(w, g, s, t):
    rho, eps = f(0.95), f(1e-7)
    ag = add(mul(rho, s.get("ag", 0.0)), mul(f(1 - 0.95), sq(g)))
    s["ag"] = ag
    ad = s.get("ad", 0.0)
    delta = -div(mul(sqrt(add(ad, eps)), g), sqrt(add(ag, eps)))
    s["ad"] = add(mul(rho, ad), mul(f(1 - 0.95), sq(delta)))
    return add(w, mul(LR, delta))


def adamax(w, g, s, t):
    b1p = pw(f(0.9), t)
    m = add(s.get("m", 0.0), mul(sub(g, s.get("m", 0.0)), f(1 - 0.9)))
    u = max(mul(f(0.999), s.get("u", 0.0)), abs(g))
    s["m"], s["u"] = m, u
    return sub(w, div(mul(LR, m), mul(sub(1.0, b1p), add(u, f(1e-7)))))


NADAM_U = {}


def nadam(w, g, s, t):
    b1, b2 = f(0.9), f(0.999)
    # u_product: once per step (the first variable computes it, the second reuses it)
    if t not in NADAM_U:
        prev = NADAM_U.get(t - 1, 1.0)
        NADAM_U[t] = mul(mul(prev, b1), sub(1.0, mul(0.5, pw(f(0.96), t))))
    up_t = NADAM_U[t]
    u_t = mul(b1, sub(1.0, mul(0.5, pw(f(0.96), t))))
    u_t1 = mul(b1, sub(1.0, mul(0.5, pw(f(0.96), t + 1))))
    up_t1 = mul(up_t, u_t1)
    b2p = pw(b2, t)
    m = add(s.get("m", 0.0), mul(sub(g, s.get("m", 0.0)), sub(1.0, b1)))
    v = add(s.get("v", 0.0), mul(sub(sq(g), s.get("v", 0.0)), sub(1.0, b2)))
    s["m"], s["v"] = m, v
    m_hat = add(div(mul(u_t1, m), sub(1.0, up_t1)), div(mul(sub(1.0, u_t), g), sub(1.0, up_t)))
    v_hat = div(v, sub(1.0, b2p))
    return sub(w, div(mul(m_hat, LR), add(sqrt(v_hat), f(1e-7))))


def ftrl(w, g, s, t):
    # learning_rate_power -0.5, l1 0.01, l2 0.02, shrinkage 0.03, beta 0.5
    p = f(0.5)
    l2_reg = add(f(0.02), div(f(0.5), mul(2.0, LR)))
    gtu = add(g, mul(f(2 * 0.03), w))
    acc = s.get("acc", f(0.1))
    new_acc = add(acc, sq(g))
    lin = add(s.get("lin", 0.0), sub(gtu, mul(div(sub(pw(new_acc, p), pw(acc, p)), LR), w)))
    s["lin"] = lin
    quad = add(div(pw(new_acc, p), LR), mul(2.0, l2_reg))
    clipped = min(max(lin, -f(0.01)), f(0.01))
    s["acc"] = new_acc
    return div(sub(clipped, lin), quad)


def lion(w, g, s, t):
    b1, b2 = f(0.9), f(0.99)
    m = s.get("m", 0.0)
    w = sub(w, mul(LR, sign(add(mul(m, b1), mul(g, sub(1.0, b1))))))
    s["m"] = add(mul(m, b2), mul(g, sub(1.0, b2)))
    return w


def sgd_clip(kind):
    # plain SGD lr 0.1 on both kernel elements with the gradient clipped
    w = [f(v) for v in W0]
    out = []
    for _ in range(2):
        g = grads(w)
        if kind == "clipnorm":  # c = 1
            n = sqrt(add(sq(g[0]), sq(g[1])))
            g = [div(mul(x, 1.0), max(n, 1.0)) for x in g]
        elif kind == "clipvalue":  # c = 0.5
            g = [min(max(x, -0.5), 0.5) for x in g]
        w = [sub(w[i], mul(g[i], LR)) for i in range(2)]
        out.append(list(w))
    return out


def sgd_weight_decay():
    # SGD lr 0.1, weight_decay 0.2: w -= w * wd * lr, then w -= g * lr (g of the old w)
    w = [f(v) for v in W0]
    out = []
    for _ in range(2):
        g = grads(w)
        w = [sub(w[i], mul(mul(w[i], f(0.2)), LR)) for i in range(2)]
        w = [sub(w[i], mul(g[i], LR)) for i in range(2)]
        out.append(list(w))
    return out


def sgd_ema():
    # SGD lr 0.1, use_ema, ema_momentum 0.5, ema_overwrite_frequency 2
    w = [f(v) for v in W0]
    avg = [0.0, 0.0]
    out = []
    for it in range(2):
        g = grads(w)
        w = [sub(w[i], mul(g[i], LR)) for i in range(2)]
        mom = 0.0 if it == 0 else f(0.5)
        avg = [add(mul(mom, avg[i]), mul(sub(1.0, mom), w[i])) for i in range(2)]
        if (it + 1) % 2 == 0:
            w = list(avg)
        out.append(list(w) + list(avg))
    return out


def accumulation_adam():
    # Adam lr 0.1, gradient_accumulation_steps 2, three raw steps: the first
    # accumulates, the second updates with (g2 + g1) / 2 at Keras's local_step 1,
    # the third accumulates again (weights unchanged)
    w = [f(v) for v in W0]
    acc = [0.0, 0.0]
    s = [{}, {}]
    upd = adam_like(False, 0)
    out = []
    for raw in range(3):
        g = grads(w)
        if (raw + 1) % 2 == 0:
            gg = [div(add(g[i], acc[i]), 2.0) for i in range(2)]
            t = float(raw // 2 + 1)
            w = [upd(w[i], gg[i], s[i], t) for i in range(2)]
            acc = [0.0, 0.0]
        else:
            acc = [add(g[i], acc[i]) for i in range(2)]
        out.append(list(w))
    return out


def show(name, rows):
    print("/* %s */" % name)
    print("{" + ", ".join("{" + ", ".join("%.9g" % v for v in r) + "}" for r in rows) + "},")


def sgd_global_clipnorm():
    # Dense(2) with a bias: b0 = [0.25, 0.25]; grads of kernel and bias are
    # both w + b - y; global_clipnorm 1 over the four values
    w = [f(v) for v in W0]
    b = [f(0.25), f(0.25)]
    out = []
    for _ in range(2):
        d = [sub(add(w[i], b[i]), Y[i]) for i in range(2)]
        total = add(add(sq(d[0]), sq(d[1])), add(sq(d[0]), sq(d[1])))
        norm = sqrt(total)
        scale = mul(1.0, min(div(1.0, norm), f(1.0 / 1.0)))
        scale = add(scale, sub(norm, norm))
        gd = [mul(x, scale) for x in d]
        w = [sub(w[i], mul(gd[i], LR)) for i in range(2)]
        b = [sub(b[i], mul(gd[i], LR)) for i in range(2)]
        out.append(w + b)
    return out


def adafactor():
    # Dense(2) on x = [[1, 2]] with kernel [[0.5, -1.5], [0.25, 0.75]] and bias
    # [0.5, -0.5], MSE against y: the kernel (rank 2) is factored, the bias
    # (rank 1) is not. Defaults: beta_2_decay -0.8, epsilon_1 1e-30,
    # epsilon_2 1e-3, clip_threshold 1; lr 0.1. Returns (kernel, bias) per step.
    x = [1.0, 2.0]
    W = [[0.5, -1.5], [0.25, 0.75]]
    b = [0.5, -0.5]
    r = [0.0, 0.0]
    c = [0.0, 0.0]
    vb = [0.0, 0.0]
    out = []

    def rms(vals):
        total = 0.0
        for v in vals:
            total = add(total, sq(v))
        return sqrt(div(total, float(len(vals))))

    for step in range(2):
        t = float(step + 1)
        yp = [add(add(mul(x[0], W[0][j]), mul(x[1], W[1][j])), b[j]) for j in range(2)]
        d = [sub(yp[j], Y[j]) for j in range(2)]
        gW = [[mul(x[i], d[j]) for j in range(2)] for i in range(2)]
        gb = list(d)
        rho = min(LR, div(1.0, sqrt(t)))
        b2t = sub(1.0, pw(t, f(-0.8)))
        om = sub(1.0, b2t)
        # kernel
        alpha = mul(max(f(1e-3), rms([W[0][0], W[0][1], W[1][0], W[1][1]])), rho)
        rgs = [[add(sq(gW[i][j]), f(1e-30)) for j in range(2)] for i in range(2)]
        r = [add(mul(b2t, r[i]), mul(om, div(add(rgs[i][0], rgs[i][1]), 2.0))) for i in range(2)]
        c = [add(mul(b2t, c[j]), mul(om, div(add(rgs[0][j], rgs[1][j]), 2.0))) for j in range(2)]
        rmean = div(add(r[0], r[1]), 2.0)
        v = [[mul(div(r[i], rmean), c[j]) for j in range(2)] for i in range(2)]
        u = [[div(gW[i][j], sqrt(v[i][j])) for j in range(2)] for i in range(2)]
        uh_den = max(1.0, div(rms([u[0][0], u[0][1], u[1][0], u[1][1]]), 1.0))
        W = [[sub(W[i][j], mul(alpha, div(u[i][j], uh_den))) for j in range(2)] for i in range(2)]
        # bias
        alpha_b = mul(max(f(1e-3), rms(b)), rho)
        rgs_b = [add(sq(g), f(1e-30)) for g in gb]
        vb = [add(mul(b2t, vb[j]), mul(om, rgs_b[j])) for j in range(2)]
        ub = [div(gb[j], sqrt(vb[j])) for j in range(2)]
        den_b = max(1.0, div(rms(ub), 1.0))
        b = [sub(b[j], mul(alpha_b, div(ub[j], den_b))) for j in range(2)]
        out.append([W[0][0], W[0][1], W[1][0], W[1][1], b[0], b[1]])
    return out


def adafactor_rank3():
    # A variable [2, 2, 3] (A, R, C) with a constant gradient G (the loss
    # sum(p * G), test_optimizers.c adafactor_rank3): Keras factors the last
    # two axes, r [A, R] = mean over C, c [A, C] = mean over R, and
    # v = (r / mean(r, -1))[..., None] * c[..., None, :]. Defaults, lr 0.1.
    P = [[[0.5, -1.5, 0.25], [0.75, -0.25, 1.0]], [[-0.5, 0.125, 2.0], [1.5, -1.0, 0.375]]]
    G = [[[0.3, -0.6, 0.9], [0.2, 0.5, -0.4]], [[1.2, -0.1, 0.05], [-0.7, 0.8, 0.25]]]
    A, R, C = 2, 2, 3
    P = [[[f(v) for v in row] for row in m] for m in P]
    G = [[[f(v) for v in row] for row in m] for m in G]
    r = [[0.0] * R for _ in range(A)]
    c = [[0.0] * C for _ in range(A)]
    out = []

    def flat(x):
        return [v for m in x for row in m for v in row]

    def rms(vals):
        total = 0.0
        for v in vals:
            total = add(total, sq(v))
        return sqrt(div(total, float(len(vals))))

    for step in range(2):
        t = float(step + 1)
        rho = min(LR, div(1.0, sqrt(t)))
        alpha = mul(max(f(1e-3), rms(flat(P))), rho)
        b2t = sub(1.0, pw(t, f(-0.8)))
        om = sub(1.0, b2t)
        rgs = [[[add(sq(G[a][i][j]), f(1e-30)) for j in range(C)] for i in range(R)]
               for a in range(A)]
        for a in range(A):
            for i in range(R):
                row = 0.0
                for j in range(C):
                    row = add(row, rgs[a][i][j])
                r[a][i] = add(mul(b2t, r[a][i]), mul(om, div(row, float(C))))
            for j in range(C):
                col = 0.0
                for i in range(R):
                    col = add(col, rgs[a][i][j])
                c[a][j] = add(mul(b2t, c[a][j]), mul(om, div(col, float(R))))
        v = [[[0.0] * C for _ in range(R)] for _ in range(A)]
        for a in range(A):
            rsum = 0.0
            for i in range(R):
                rsum = add(rsum, r[a][i])
            rmean = div(rsum, float(R))
            for i in range(R):
                for j in range(C):
                    v[a][i][j] = mul(div(r[a][i], rmean), c[a][j])
        u = [[[div(G[a][i][j], sqrt(v[a][i][j])) for j in range(C)] for i in range(R)]
             for a in range(A)]
        den = max(1.0, div(rms(flat(u)), 1.0))
        P = [[[sub(P[a][i][j], mul(alpha, div(u[a][i][j], den))) for j in range(C)]
              for i in range(R)] for a in range(A)]
        out.append(flat(P))
    return out


if __name__ == "__main__":
    show("SGD momentum 0.9 nesterov", run(sgd_momentum_nesterov))
    show("RMSprop centered momentum 0.5", run(rmsprop_centered_momentum))
    show("Adam amsgrad", run(adam_like(True, 0)))
    show("AdamW (weight_decay 0.004)", run(adam_like(False, 0.004)))
    show("Adagrad", run(adagrad))
    show("Adadelta", run(adadelta))
    show("Adamax", run(adamax))
    show("Nadam", run(nadam))
    show("Ftrl", run(ftrl))
    show("Lion", run(lion))
    show("SGD clipnorm 1", sgd_clip("clipnorm"))
    show("SGD clipvalue 0.5", sgd_clip("clipvalue"))
    show("SGD weight_decay 0.2", sgd_weight_decay())
    show("SGD EMA (w0, w1, avg0, avg1)", sgd_ema())
    show("Adam gradient_accumulation_steps 2", accumulation_adam())
    show("SGD global_clipnorm 1 (w0, w1, b0, b1)", sgd_global_clipnorm())
    show("Adafactor (kernel 2x2 row-major, bias)", adafactor())
    show("Adafactor rank 3 [2, 2, 3] row-major", adafactor_rank3())
