r"""K networks of one shape in one buffer, their pass over a batch and their update rules.

The ensemble (:mod:`decaylab.ensemble`) keeps its members' parameters in one
layer-major buffer and steps them together: :class:`Stack` holds the buffer
and the pass (:class:`~decaylab.network.Backprop` with a member axis);
:class:`StackedRule` applies one step of any chained rule
(:mod:`decaylab.rules`) to every member, each with its own η, coefficient c
and hyper-parameters, as one call per elementwise operation for all members.
Eq. 93 keeps its own fused step (:meth:`Stack.sgd_step`).

Each member's step is the step its separate run makes, written with the same
operations in the same order; only the batch sums of the gradient are formed
by other products (one for all members), so members agree with their
separate runs to the rounding of those sums.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from decaylab._blas import _GEMM, _GEMV, _gemm_operands, matmul_into
from decaylab.network import Backprop, Network
from decaylab.rules import L2, AdamDirection, ChainedRule, Decoupled, HeavyBall, Plain

#: Weights per member from which a layer of members with their own batches is updated by one
#: fused gemm per member rather than a batched product and two passes (a [64, 1000, 10]
#: network's first layer, 64,000, is; a [64, 30, 10]'s, 1,920, is not).
_FUSED_SIZE = 16_384


class Stack:
    """The K members' parameters in one buffer, and their pass (:class:`Backprop`) over a batch.

    The buffer is layer-major: the weights of layer 0 of all members, shape
    (K, sizes[1], sizes[0]), then those of layer 1, ..., then the biases of
    each layer, shape (K, sizes[l+1]). Member k's layer-0 weights are rows
    k·sizes[1] .. (k+1)·sizes[1] of the (K·sizes[1], sizes[0]) matrix, which is
    what makes the first layer one wide product when the members share their
    batches. Members with their own batches, shape (K, k, sizes[0]), take one
    product each, batched.
    """

    def __init__(self, nets: Sequence[Network], batch_size: int):
        first = nets[0]
        self.K = K = len(nets)
        self.n_weights = first.n_weights
        self._shapes = shapes = [(o, i) for i, o in zip(first.sizes[:-1], first.sizes[1:])]
        self.params = np.empty(K * (first.n_weights + first.n_biases), dtype=first.dtype)
        self.weights, self.biases = self._layers(self.params, shapes)
        # The member form of each layer: (K, o, i) blocks, or one member's plain matrices.
        self._form = (lambda a: a) if K > 1 else (lambda a: a[0])
        # The layers' gradient terms (η_k/m_B)·δᵀa, in one buffer laid out like the weights,
        # so that the layers stepped through it are decayed and subtracted by one call each.
        self._grad_flat = np.empty(K * first.n_weights, dtype=first.dtype)
        self._grads = [
            self._form(w) for w in self._layers(self._grad_flat, shapes, biases=False)[0]
        ]
        self.rest: np.ndarray | None = None  # R = d·w − w′ of every step, on demand
        self._plans: dict[tuple, tuple] = {}  # sgd_step's calls by batch length and layout
        self.eq93 = False  # until set_hyperparameters
        # Every member's weights of a layer as one row, so that its decay multiplier
        # broadcasts along a contiguous row (about twice as fast as over a (K, o, i) block).
        self._rows = [w.reshape(K, -1) for w in self.weights]
        self._member_shape = (K, 1, 1) if K > 1 else (1, 1)
        o0, i0 = shapes[0]
        self.wide_weights = self.weights[0].reshape(K * o0, i0)
        self.wide_weights_transposed = self.wide_weights.T
        self.wide_biases = [b.reshape(-1) for b in self.biases]
        self.backprop = Backprop.stacked(
            self.weights, self.biases, batch_size,
            activation=first.activation, cost_function=first.cost_function,
        )  # fmt: skip
        self.grad: np.ndarray | None = None  # Σ_x ∂C_x/∂θ, laid out like params, on demand
        self.load(nets)

    def _layers(self, flat, shapes, *, biases=True):
        weights, start = [], 0
        for o, i in shapes:
            weights.append(flat[start : start + self.K * o * i].reshape(self.K, o, i))
            start += self.K * o * i
        if not biases:
            return weights, []
        biases = []
        for o, _ in shapes:
            biases.append(flat[start : start + self.K * o].reshape(self.K, o))
            start += self.K * o
        return weights, biases

    def expand(self, values: Sequence[float], *, weights_only: bool = False):
        """Per-member values laid out like ``params`` (or its weights): a float if all agree.

        A float keeps a member's arithmetic that of its separate run, whose
        hyper-parameters are Python floats; an array in the buffer's dtype
        otherwise, member k's value at every one of its elements.
        """
        values = np.asarray(values, dtype=np.float64)
        if np.all(values == values[0]):
            return float(values[0])
        if not hasattr(self, "_member_index"):
            sizes = [w[0].size for w in self.weights] + [b[0].size for b in self.biases]
            members = np.arange(self.K)
            self._member_index = np.concatenate([np.repeat(members, s) for s in sizes])
        index = self._member_index
        if weights_only:
            index = index[: self.K * self.n_weights]
        return values.astype(self.params.dtype)[index]

    def set_hyperparameters(self, etas: Sequence[float], multipliers: Sequence[float]) -> None:
        """Store each member's η and decay multiplier d, for :meth:`sgd_step`."""
        self._etas = np.array(etas, dtype=np.float64)
        self._scales: dict[int, np.ndarray] = {}
        self._plans.clear()
        self.eq93 = True  # stepped by sgd_step, which can keep each step's rest (keep_rest)
        # One d for all members (a sweep over seeds or η) decays inside the first layer's
        # product, as a separate run does, instead of in a pass of its own.
        same = len(set(multipliers)) == 1
        self._multipliers = [float(d) for d in multipliers]
        self._common_multiplier = float(multipliers[0]) if same else None
        # Different ones as arrays the size of each layer's weights: multiplying by one
        # is about three times faster than broadcasting a (K, 1) column along the rows.
        column = np.array(multipliers, dtype=self.params.dtype).reshape(self.K, 1)
        self._decay_rows = [np.repeat(column, rows.shape[1], axis=1) for rows in self._rows]

    def scales(self, batch_length: int) -> np.ndarray:
        """η_k/m_B of every member, shape (K, 1, 1), divided in float64 and rounded to the dtype."""
        if batch_length not in self._scales:
            scales = (self._etas / batch_length).astype(self.params.dtype)
            self._scales[batch_length] = scales.reshape(self._member_shape)
        return self._scales[batch_length]

    def backward(self, X: np.ndarray, targets: np.ndarray, *, scaled: bool = True) -> None:
        """Forward pass and every member's δ^l for the batch (scaled by η_k/m_B for eq. 93).

        Parameters
        ----------
        X : ndarray, shape (k, sizes[0]), or each member's own, (K, k, sizes[0])
        targets : ndarray, shape (k, sizes[-1]) or (K, k, sizes[-1]), one-hot
        scaled : bool
            Scale δ^L, and so every δ^l (linear in it), by η_k/m_B, m_B = k, for
            :meth:`sgd_step`; the other rules take the plain batch sums.
        """
        k = X.shape[-2]
        self.backprop.run(X, targets, self.scales(k) if scaled else None)

    def keep_rest(self) -> np.ndarray:
        """Have :meth:`sgd_step` leave the rest of each step, R = d·w − w′, in a buffer.

        Returns the buffer, shape (K·n_weights,), laid out like the weights of
        ``params`` and overwritten by every step. A layer whose step forms its
        gradient term, (η_k/m_B)·δᵀa, forms it there (then R is that term); a
        layer stepped by a fused product (a shared batch's first layer, a large
        layer) keeps x = d·w there before the product and takes R = x − w′ after
        it. The weights are stepped with the same operations as without it.
        """
        if self.rest is None:
            self.rest = self._grad_flat
            self._plans.clear()
        return self.rest

    def sgd_step(self, batch_length: int) -> None:
        r"""Apply eq. 93 to every member, from the δ that :meth:`backward` left for this batch.

        .. math:: w_k \to d_k\,w_k - (\eta_k/m_B)\sum_x \partial C_x/\partial w_k,
                  \qquad b_k \to b_k - (\eta_k/m_B)\sum_x \partial C_x/\partial b_k.

        Each member's δ already carries its η_k/m_B, so (η_k/m_B)·Σ_x ∂C_x/∂w^l_k
        = δ^l_kᵀ a^{l−1}_k. With shared batches the first layer, where nearly
        all the weights are, is updated by one wide gemm for all members,
        W ← d·W − [δ_1 … δ_K]ᵀ X, decayed inside it when all members share d,
        else member by member first; a large layer by one gemm per member,
        w_k ← d_k·w_k − δ_kᵀa_k. Other layers go through their gradient buffer:
        one batched product, the decay (none when d = 1) and a subtraction.
        The calls of a batch layout are listed once (:meth:`_plan`), then replayed.
        """
        batch = self.backprop.batch
        inputs = batch.factors[0][1]
        plan = self._plans.get((batch_length, inputs.ndim)) or self._plan(batch, batch_length)
        first, calls = plan
        first(inputs)
        for call, arguments in calls:
            call(*arguments)

    def _plan(self, batch, batch_length: int) -> tuple:
        """``(first, calls)`` of a batch layout: ``first(inputs)`` updates the first layer,
        ``call(*arguments)`` for each of ``calls`` the biases and the deeper layers.

        Every operand but the batch's inputs is a view of the stack's or the
        pass's buffers, fixed for the layout, so this runs once per batch length.
        The layers stepped through the gradient buffer, when they are the last
        ones (as they are unless a deeper layer is fused), are decayed and
        subtracted together: the same arithmetic, element by element, in two calls.
        """
        ones = self.backprop.ones[:batch_length]
        gemv = _GEMV[self.params.dtype]
        # b ← b − Σ_rows δ: gemv(alpha, a, x, beta, y, offx, incx, offy, incy, trans, overwrite_y)
        calls = [(gemv, (-1.0, d.T, ones, 1.0, b, 0, 1, 0, 1, 0, 1))
                 for b, d in zip(self.wide_biases, batch.delta)]  # fmt: skip
        delta, inputs = batch.factors[0]
        fused = [self.K > 1 and rows.shape[1] >= _FUSED_SIZE for rows in self._rows]
        fused[0] = fused[0] or inputs.ndim == 2  # a shared batch's wide product
        through = [l for l, f in enumerate(fused) if not f]  # through the gradient buffer
        merged = bool(through) and through == list(range(through[0], len(fused)))
        for l in range(1, len(self._shapes)):
            if fused[l]:
                before, gemms, after = self._fused(l, *batch.factors[l])
                calls += before + gemms + after
            else:
                calls += self._unfused(l, *batch.factors[l], merged)
        if merged:
            start = sum(self._rows[l].size for l in range(through[0]))
            calls += self._decay_and_subtract(slice(start, None), self._decay_of(through))
        if inputs.ndim == 2:
            first = self._shared_first(batch.delta[0].T, inputs)
        elif fused[0]:
            first = self._own_fused_first(delta)
        else:
            (product, (left, _, out)), *own = self._unfused(0, delta, None, merged)

            def first(X):
                product(left, X, out)
                for call, arguments in own:
                    call(*arguments)

        plan = self._plans[batch_length, inputs.ndim] = (first, calls)
        return plan

    def _decay_of(self, layers):
        """The decay multiplier of ``layers``: a float when all members share it, else an
        array with member k's d at each of its weights, laid out like those layers."""
        if self._common_multiplier is not None:
            return self._common_multiplier
        return np.concatenate([self._decay_rows[l].reshape(-1) for l in layers])

    def _decay_and_subtract(self, part, decay) -> list[tuple]:
        """w ← d·w (unless d = 1), then w ← w − (η/m_B)·δᵀa, over ``part`` of the weights."""
        weights, grad = self.params[: len(self._grad_flat)][part], self._grad_flat[part]
        calls = [(np.subtract, (weights, grad, weights))]
        if not (isinstance(decay, float) and decay == 1.0):
            calls.insert(0, (np.multiply, (weights, decay, weights)))
        return calls

    def _unfused(self, l: int, delta_members, inputs, merged: bool) -> list[tuple]:
        """grad ← δᵀa (one batched product), then, unless ``merged``, w ← d·w, w ← w − grad."""
        product = (np.matmul, (delta_members.swapaxes(-1, -2), inputs, self._grads[l]))
        if merged:
            return [product]
        start = sum(self._rows[j].size for j in range(l))
        return [product, *self._decay_and_subtract(slice(start, start + self._rows[l].size),
                                                   self._decay_of([l]))]  # fmt: skip

    def _fused(self, l: int, delta_members, inputs) -> tuple[list, list, list]:
        """w_k ← d_k·w_k − δ_kᵀa_k, one gemm per member: a large layer's update in one pass
        over its weights (the batched product, decay and subtraction take three).

        Returns the calls (before, gemms, after). The members' δ_k and a_k, strided
        views of the wide buffers, are copied into contiguous ones first (the gemm
        wrapper takes only contiguous operands); with ``inputs`` None (a batch's own
        inputs, given at each step) the gemms' second arguments are left None.
        """
        dtype, rows = self.params.dtype, self._rows[l]
        gemm, weights = _GEMM[dtype], self.weights[l]
        deltas = np.empty(delta_members.shape, dtype=dtype)
        before, after = [(np.copyto, (deltas, delta_members))], []
        right = [None] * self.K
        if inputs is not None:
            right = np.empty(inputs.shape, dtype=dtype)
            before.append((np.copyto, (right, inputs)))
        if self.rest is not None:
            rest = self._grads[l].reshape(rows.shape)
            decay = self._decay_of([l])
            decay = decay if isinstance(decay, float) else decay.reshape(rows.shape)
            before.insert(0, (np.multiply, (rows, decay, rest)))  # x = d·w
            after.append((np.subtract, (rest, rows, rest)))  # R = x − w′
        # gemm(alpha, a, b, beta, c, trans_a, trans_b, overwrite_c) in Fortran order:
        # w_kᵀ ← −a_kᵀ·δ_k + d_k·w_kᵀ, every operand a transposed C-contiguous array.
        gemms = [(gemm, (-1.0, None if a is None else a.T, deltas[k].T, d, _in_place(w.T), 0, 1, 1))
                 for k, (a, d, w) in enumerate(zip(right, self._multipliers, weights))]  # fmt: skip
        return before, gemms, after

    def _shared_first(self, delta_transposed, inputs):
        """``first(X)``: the first layer's update for a batch X, shape (k, sizes[0]),
        C-contiguous, shared by all members: one wide gemm, W ← d·W − [δ_1 … δ_K]ᵀ X."""
        gemm = _GEMM[self.params.dtype]
        _, _, b, trans_b = _gemm_operands(delta_transposed, inputs)
        out = _in_place(self.wide_weights.T)
        rows, common, before, after = self._rows[0], self._common_multiplier, [], []
        beta = 1.0 if common is None else common
        if common is None:  # decayed member by member, then the product added
            before.append((np.multiply, (rows, self._decay_rows[0], rows)))
        if self.rest is not None:
            rest = self._grads[0].reshape(rows.shape)
            before.append((np.copyto, (rest, rows)) if common is None
                          else (np.multiply, (rows, common, rest)))  # fmt: skip
            after.append((np.subtract, (rest, rows, rest)))

        def first(X):
            for call, arguments in before:
                call(*arguments)
            # gemm(alpha, a, b, beta, c, trans_a, trans_b, overwrite_c), Fortran order
            gemm(-1.0, X.T, b, beta, out, 0, trans_b, 1)
            for call, arguments in after:
                call(*arguments)

        return first

    def _own_fused_first(self, delta_members):
        """``first(X)``: a large first layer's update for each member's own batch X,
        shape (K, k, sizes[0]) with C-contiguous rows: one gemm per member."""
        before, gemms, after = self._fused(0, delta_members, None)

        def first(X):
            for call, arguments in before:
                call(*arguments)
            for (gemm, (alpha, _, *others)), inputs in zip(gemms, X):
                gemm(alpha, inputs.T, *others)
            for call, arguments in after:
                call(*arguments)

        return first

    def gradient(self) -> np.ndarray:
        """Σ_x ∂C_x/∂θ of every member for the batch :meth:`backward` ran (unscaled),
        laid out like ``params`` (one buffer, overwritten by the next call)."""
        if self.grad is None:
            self.grad = np.empty_like(self.params)
            weights, biases = self._layers(self.grad, self._shapes)
            self._grad_weights = [self._form(w) for w in weights]
            self._grad_biases = [self._form(b) for b in biases]
            self._grad_wide = weights[0].reshape(self.wide_weights.shape)
        batch = self.backprop.batch
        for l, ((delta, inputs), grad_w, grad_b) in enumerate(
            zip(batch.factors, self._grad_weights, self._grad_biases)
        ):
            if l == 0 and inputs.ndim == 2:
                matmul_into(self._grad_wide, batch.delta[0].T, inputs)  # shared batch: wide
            else:
                np.matmul(delta.swapaxes(-1, -2), inputs, out=grad_w)
            np.add.reduce(delta, axis=-2, out=grad_b)
        return self.grad

    def member(self, k: int, flat: np.ndarray | None = None) -> list[np.ndarray]:
        """Views of member k's weights then biases, layer by layer, in ``flat`` (or params)."""
        weights, biases = (
            (self.weights, self.biases) if flat is None else self._layers(flat, self._shapes)
        )
        return [block[k] for block in weights + biases]

    def set_member(self, k: int, arrays: Sequence[np.ndarray], flat=None) -> None:
        for block, array in zip(self.member(k, flat), arrays):
            block[...] = array

    def load(self, nets: Sequence[Network]) -> None:
        for k, net in enumerate(nets):
            self.set_member(k, [*net.weights, *net.biases])

    def store(self, nets: Sequence[Network], members: Sequence[int] | None = None) -> None:
        """Copy the stacked parameters into the networks (all, or ``nets[k]`` for k in members)."""
        for k in range(self.K) if members is None else members:
            for own, block in zip([*nets[k].weights, *nets[k].biases], self.member(k)):
                own[...] = block

    def finite_members(self) -> np.ndarray:
        """Boolean (K,): whether all of member k's weights and biases are finite."""
        finite = np.ones(self.K, dtype=bool)
        for block in self.weights + self.biases:
            finite &= np.isfinite(block.reshape(self.K, -1)).all(axis=1)
        return finite


def _in_place(out: np.ndarray) -> np.ndarray:
    """``out``, checked to be what SciPy's gemm writes into in place (Fortran-contiguous,
    aligned, writeable): any other array it would copy, leaving ``out`` unchanged."""
    flags = out.flags
    if not (flags.f_contiguous and flags.aligned and flags.writeable):
        raise RuntimeError(f"gemm would copy its output of shape {out.shape}; expected it in place")
    return out


def stackable(rules: Sequence) -> str | None:
    """Why ``rules`` (one per member) cannot be stepped as one stack, or None if they can.

    They can when all are :class:`~decaylab.rules.ChainedRule` of one class,
    decay and kind of direction (Nesterov or not); their hyper-parameters may differ.
    """
    first = rules[0]
    if not isinstance(first, ChainedRule) or not isinstance(
        first.direction, (Plain, HeavyBall, AdamDirection)
    ):
        return f"{first!r} is not a rule built from the package's parts"
    kind = (type(first), type(first.decay), type(first.direction))
    for k, rule in enumerate(rules):
        if (type(rule), type(rule.decay), type(rule.direction)) != kind or (
            isinstance(rule.direction, HeavyBall)
            and rule.direction.nesterov != first.direction.nesterov
        ):
            return f"member {k}'s rule {rule!r} is not of the kind of member 0's, {first!r}"
    return None


class StackedRule:
    """One step of a chained rule (:mod:`decaylab.rules`) for every member of a :class:`Stack`.

    Member k takes exactly its separate run's step: u = g/m_B, then the decay
    (L2: u ← u + c_k·M∘θ; decoupled: w ← (1 − η_k c_k)·w), then the direction
    (plain, heavy ball or Nesterov with β_k, or Adam with β₁, β₂, ε of its own)
    on its part of the stacked state.

    Parameters
    ----------
    rules : sequence of K ChainedRule
        One kind (:func:`stackable`).
    stack : Stack
    etas, coefficients : sequence of K float
    states : sequence of K dict
        Each member's state (``rule.init(net)`` layout), loaded into the stack;
        :meth:`store_states` writes the stack's back into them.
    nets : sequence of K Network
        The members, whose layout the states have.
    """

    def __init__(self, rules, stack: Stack, etas, coefficients, states, nets):
        self.stack, self.states, self.nets = stack, states, nets
        first = rules[0]
        self.decoupled = isinstance(first.decay, Decoupled)
        self.direction = first.direction
        self.eta = stack.expand(etas)
        self.l2 = None
        if isinstance(first.decay, L2) and any(coefficients):
            self.l2 = stack.expand(coefficients, weights_only=True)
        multipliers = [1.0 - e * c for e, c in zip(etas, coefficients)]
        self.multiplier = stack.expand(multipliers, weights_only=True)
        self.decays = self.decoupled and any(coefficients)
        directions = [rule.direction for rule in rules]
        if isinstance(self.direction, HeavyBall):
            self.beta = stack.expand([d.beta for d in directions])
        if isinstance(self.direction, AdamDirection):
            self._adam_constants(directions, etas)
        self.state = {key: self._stacked(key, value) for key, value in first.init(nets[0]).items()}
        self.load_states()
        self._work = np.empty_like(stack.params)
        self._work2 = np.empty_like(stack.params)

    def _adam_constants(self, directions, etas) -> None:
        self.b1 = np.array([d.beta1 for d in directions])
        self.b2 = np.array([d.beta2 for d in directions])
        self.etas = np.asarray(etas, dtype=np.float64)
        expand = self.stack.expand
        self.one_minus_b1 = expand([1.0 - d.beta1 for d in directions])
        self.one_minus_b2 = expand([1.0 - d.beta2 for d in directions])
        self.beta1, self.beta2 = expand(self.b1), expand(self.b2)
        self.eps = expand([d.eps for d in directions])

    def _stacked(self, key: str, value: np.ndarray) -> np.ndarray:
        if value.ndim == 0:  # a counter such as Adam's step: one per member
            return np.zeros(self.stack.K, dtype=value.dtype)
        return np.zeros_like(self.stack.params)

    def load_states(self) -> None:
        for k, (state, net) in enumerate(zip(self.states, self.nets)):
            for key, stacked in self.state.items():
                if stacked.ndim == 1 and len(stacked) == self.stack.K:
                    stacked[k] = state[key]
                else:
                    weights, biases = net.unflatten(state[key])
                    self.stack.set_member(k, [*weights, *biases], stacked)

    def store_states(self, members: Sequence[int] | None = None) -> None:
        """Write the stacked state back into each member's state dict (or those ``members``)."""
        for k in range(self.stack.K) if members is None else members:
            for key, stacked in self.state.items():
                own = self.states[k][key]
                if stacked.ndim == 1 and len(stacked) == self.stack.K:
                    own[...] = stacked[k]
                else:
                    parts = self.stack.member(k, stacked)
                    np.concatenate([p.ravel() for p in parts], out=own)

    def step(self, batch_length: int) -> None:
        """Step every member from the batch :meth:`Stack.backward` ran (unscaled)."""
        stack = self.stack
        u = stack.gradient()
        u /= batch_length
        weights = stack.params[: stack.K * stack.n_weights]
        if self.l2 is not None:
            u[: len(weights)] += np.multiply(self.l2, weights, out=self._work[: len(weights)])
        if self.decays:
            weights *= self.multiplier
        if isinstance(self.direction, Plain):
            u *= self.eta
            stack.params -= u
        elif isinstance(self.direction, HeavyBall):
            self._heavy_ball(u)
        else:
            self._adam(u)

    def _heavy_ball(self, u: np.ndarray) -> None:
        velocity, work, params = self.state["velocity"], self._work, self.stack.params
        velocity *= self.beta
        velocity += u
        if self.direction.nesterov:
            u += np.multiply(self.beta, velocity, out=work)  # look ahead along the new velocity
            params -= np.multiply(self.eta, u, out=work)
        else:
            params -= np.multiply(self.eta, velocity, out=work)

    def _adam(self, u: np.ndarray) -> None:
        first, second, step = (self.state[k] for k in ("first_moment", "second_moment", "step"))
        work, denominator = self._work, self._work2
        step += 1
        t = step.astype(np.float64)
        # The bias corrections of each member's own step count, as its separate run forms them.
        corrected = _per_member(np.sqrt(1.0 - self.b2**t), self.stack)
        rate = _per_member(self.etas / (1.0 - self.b1**t), self.stack)
        first *= self.beta1
        first += np.multiply(self.one_minus_b1, u, out=work)
        second *= self.beta2
        np.multiply(self.one_minus_b2, u, out=work)
        work *= u
        second += work
        np.sqrt(second, out=denominator)
        denominator /= corrected
        denominator += self.eps
        np.multiply(rate, first, out=work)
        work /= denominator
        self.stack.params -= work


def _per_member(values: np.ndarray, stack: Stack):
    """Per-member values, shape (K,), as :meth:`Stack.expand` gives them (a float when all
    agree), with the common case, checked at every Adam step, settled without its conversions."""
    if values[0] == values[-1] and (values == values[0]).all():
        return float(values[0])
    return stack.expand(values)
