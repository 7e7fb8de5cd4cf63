"""The latent-class model of a design: free parameters, observable moments, and targets.

Parameters (sum-to-one constraints applied, so every parameter is free):

* ``pi_u = P(U=u)`` for ``u < k-1``; ``pi_{k-1} = 1 - sum``.
* for a categorical V, ``P(V=c | pa, U=u)`` for ``c < C-1`` and every parent configuration ``pa``;
* for a continuous V with m features, the class-conditional feature means ``E[V**j | pa, U=u]``, j = 1..m-1.

The observable map sends the parameters to the multilinear moment tensor ``E[phi_1(V_1) (x) ... (x) phi_m(V_m)]``
(the joint probability table when every variable is categorical; with ``U`` appended when it is observed).
One table of parameter indices drives three evaluators: exact sparse polynomials (sympy ``ring`` over QQ), the
Jacobian at a point modulo a prime, and the same in floating point.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import cache, cached_property

import networkx as nx
import numpy as np
import sympy
from sympy import QQ
from sympy.polys.rings import PolyElement, ring

from .design import Design
from .errors import DesignError

LAST = -1  # the last category: 1 - sum of the others
ONE = -2  # feature 0 of a continuous variable: the constant 1


@dataclass(frozen=True)
class Parameter:
    """One free parameter: what it is the probability (or mean) of."""

    name: str  # a plain identifier, also the sympy symbol's name
    latex: str
    variable: str | None  # None for the class weights
    klass: int
    category: int | None = None
    parents: tuple[tuple[str, int], ...] = ()


class Model:
    """The parametrised latent-class model of a :class:`~mixid.identify.design.Design`.

    Examples
    --------
    >>> from mixid.identify import Design
    >>> m = Model(Design.builtin("paper-level4"))
    >>> m.n_params, m.n_observables
    (17, 16)
    >>> m.latex(m.moment({"Z": 1, "T": 1}))  # doctest: +ELLIPSIS
    '...'
    """

    def __init__(self, design: Design):
        self.design = design
        self.k = design.classes
        self.order = design.order
        self.dims = {v.name: v.dim for v in design.variables}
        self.params: list[Parameter] = []
        self._pi = self._pi_table()
        self.tables: dict[str, np.ndarray] = {v: self._table(v) for v in self.order}
        self._dag = nx.DiGraph()
        self._dag.add_nodes_from(design.names)
        self._dag.add_edges_from(design.edges)
        # called now and then while a polynomial sums out many parent states (a placement sets it to honour its
        # time budget: it raises to stop the work)
        self.check: Callable[[], None] | None = None

    # ------------------------------------------------------------------------------------- parameters
    @cached_property
    def symbols(self) -> list[sympy.Symbol]:
        """The parameters as sympy symbols (built on first use: numeric evaluation never needs them)."""
        return list(sympy.symbols([p.name for p in self.params]))

    @cached_property
    def _ring_gens(self) -> tuple:
        return ring([p.name for p in self.params], QQ) if self.params else (None,)

    @property
    def ring(self):
        """The sparse polynomial ring over QQ in the parameters (None without parameters)."""
        return self._ring_gens[0]

    @cached_property
    def gens(self) -> list[PolyElement]:
        """The ring's generators, one per parameter."""
        return list(self._ring_gens[1:])

    @property
    def n_params(self) -> int:
        return len(self.params)

    @property
    def cell_dims(self) -> tuple[int, ...]:
        """Shape of the observable tensor: observed variables in declaration order (then U if observed)."""
        dims = tuple(self.dims[n] for n in self.design.names)
        return dims + ((self.k,) if self.design.latent_observed else ())

    @property
    def n_observables(self) -> int:
        return int(np.prod(self.cell_dims))

    def _pi_table(self) -> np.ndarray:
        table = np.full(self.k, LAST, dtype=np.int64)
        for u in range(self.k - 1):
            table[u] = len(self.params)
            self.params.append(Parameter(f"pi_{u}", f"\\pi_{{{u}}}", None, u))
        if self.k == 1:
            table[0] = ONE
        return table

    def _table(self, name: str) -> np.ndarray:
        """Parameter index of P(V=c | pa, U=u) (or a feature mean), shape (n_pa, k, dim)."""
        var = self.design.variable(name)
        pa = self.design.parents(name)
        configs = list(itertools.product(*(range(self.dims[p]) for p in pa)))
        table = np.empty((len(configs), self.k, var.dim), dtype=np.int64)
        U = self.design.latent
        for ci, conf in enumerate(configs):
            given = tuple(zip(pa, conf))
            cond = ",".join([f"{p}{{=}}{c}" for p, c in given] + [f"{U}{{=}}@u"])
            tag = "".join(f"_{p}{c}" for p, c in given)
            for u in range(self.k):
                for c in range(var.dim):
                    if var.categorical and c == var.dim - 1:
                        table[ci, u, c] = LAST
                        continue
                    if not var.categorical and c == 0:
                        table[ci, u, c] = ONE
                        continue
                    table[ci, u, c] = len(self.params)
                    if var.categorical:
                        tex = f"P({name}{{=}}{c} \\mid {cond.replace('@u', str(u))})"
                        pname = f"p_{name}{c}{tag}_{U}{u}"
                    else:
                        power = name if c == 1 else f"{name}^{{{c}}}"
                        tex = f"E[{power} \\mid {cond.replace('@u', str(u))}]"
                        pname = f"mu_{name}{c}{tag}_{U}{u}"
                    self.params.append(Parameter(pname, tex, name, u, c, given))
        return table

    def _pa_index(self, name: str, values: Mapping[str, int]) -> int:
        idx = 0
        for p in self.design.parents(name):
            idx = idx * self.dims[p] + values[p]
        return idx

    # ---------------------------------------------------------------------------- exact polynomials
    def _factor_poly(self, name: str, values: Mapping[str, int], u: int) -> PolyElement:
        table = self.tables[name]
        row = table[self._pa_index(name, values), u]
        return self._entry_poly(row, values[name])

    def _entry_poly(self, row: np.ndarray, c: int) -> PolyElement:
        idx = int(row[c])
        if idx >= 0:
            return self.gens[idx]
        if idx == ONE:
            return self._one
        return self._one - sum((self.gens[int(j)] for j in row if j >= 0), self._zero)

    @cached_property
    def _one(self) -> PolyElement:
        return self.ring.one if self.ring is not None else 1

    @cached_property
    def _zero(self) -> PolyElement:
        return self.ring.zero if self.ring is not None else 0

    def weight_poly(self, u: int) -> PolyElement:
        """pi_u as a polynomial."""
        return self._entry_poly(self._pi, u)

    def class_poly(self, assign: Mapping[str, int], u: int, do: Mapping[str, int] | None = None) -> PolyElement:
        """P(assign | U=u) (or E[features | U=u]) in the class-u model, optionally under do(T=t).

        ``assign`` maps variables to a category (categorical) or a feature index (continuous).
        """
        do = dict(do or {})
        self._check_assign(assign)
        self._check_assign(do)
        anc, free = self._ancestral(frozenset(assign), frozenset(do))
        fixed = {**do, **assign}
        total = self._zero
        for i, combo in enumerate(itertools.product(*(range(self.dims[v]) for v in free))):
            if self.check is not None and i % 64 == 63:
                self.check()
            values = {**fixed, **dict(zip(free, combo))}
            term = self._one
            for v in self.order:
                if v in anc:
                    term = term * self._factor_poly(v, values, u)
            total += term
        return total

    @cache  # noqa: B019 - a Model is immutable; the cache lives as long as it does
    def _ancestral(self, targets: frozenset, do: frozenset) -> tuple[frozenset, tuple[str, ...]]:
        """Variables whose factors enter P(targets | U=u) under do(), and those among them summed out."""
        dag = self._dag.copy()
        dag.remove_edges_from([(a, b) for a, b in self._dag.edges if b in do])
        anc = set(targets)
        for v in targets:
            anc |= nx.ancestors(dag, v)
        anc -= set(do)
        for v in anc - targets:
            if not self.design.variable(v).categorical:
                raise DesignError(f"continuous variable '{v}' would have to be summed out")
        return frozenset(anc), tuple(v for v in self.order if v in anc and v not in targets)

    def joint_poly(self, assign: Mapping[str, int], klass: int | None = None) -> PolyElement:
        """The observable P(assign) (mixed over U), or P(assign, U=klass) when ``klass`` is given."""
        classes = range(self.k) if klass is None else [klass]
        return sum((self.weight_poly(u) * self.class_poly(assign, u) for u in classes), self._zero)

    def outcome_class_mean(self, u: int, t: int | None = None, assign: Mapping[str, int] | None = None
                           ) -> PolyElement:
        """sum_y y * P(Y=y, assign | U=u) under do(T=t) (E[Y(t) | U=u] when ``assign`` is empty)."""
        self._require_treatment("the outcome's class means")
        Y = self.design.outcome
        do = {} if t is None else {self.design.treatment: t}
        assign = dict(assign or {})
        if not self.design.variable(Y).categorical:
            return self.class_poly({**assign, Y: 1}, u, do)
        return sum((y * self.class_poly({**assign, Y: y}, u, do) for y in range(1, self.dims[Y])), self._zero)

    def _require_treatment(self, what: str) -> None:
        d = self.design
        if not d.causal:
            raise DesignError(f"{what} need a treatment and an outcome; design '{d.name}' has neither "
                              "(fields 'treatment' and 'outcome': a plain latent class model)")

    def _check_assign(self, assign: Mapping[str, int]) -> None:
        for v, c in assign.items():
            if v not in self.dims:
                raise DesignError(f"unknown variable '{v}'")
            if not 0 <= int(c) < self.dims[v]:
                raise DesignError(f"value {c} of '{v}' is outside 0..{self.dims[v] - 1}")

    # ---------------------------------------------------------------------------------------- targets
    def target_polys(self, target: str) -> list[PolyElement]:
        """Polynomials whose joint identifiability defines a named target.

        ``weights`` (pi), ``effects`` (tau_u), ``mte`` (both), ``ate``, ``full_mixture`` (every parameter).
        ``effects``, ``mte`` and ``ate`` need a treatment and an outcome: on a plain latent class model they raise
        :class:`DesignError`.

        Examples
        --------
        >>> from mixid.identify import Design
        >>> m = Model(Design.latent_class(["A", "B", "C"]))
        >>> len(m.target_polys("weights")), len(m.target_polys("full_mixture"))
        (2, 7)
        >>> m.target_polys("ate")
        Traceback (most recent call last):
        ...
        mixid.identify.errors.DesignError: target 'ate' needs a treatment and an outcome; design 'latent-class' ...
        """
        if target == "weights":
            return [self.weight_poly(u) for u in range(self.k)]
        if target in ("effects", "mte", "ate"):
            d = self.design
            if not d.causal:
                raise DesignError(f"target '{target}' needs a treatment and an outcome; design '{d.name}' has "
                                  "neither (fields 'treatment' and 'outcome': a plain latent class model)")
        if target == "effects":
            return [self.outcome_class_mean(u, 1) - self.outcome_class_mean(u, 0) for u in range(self.k)]
        if target == "mte":
            return self.target_polys("weights") + self.target_polys("effects")
        if target == "ate":
            return [sum((self.weight_poly(u) * (self.outcome_class_mean(u, 1) - self.outcome_class_mean(u, 0))
                         for u in range(self.k)), self._zero)]
        if target == "full_mixture":
            return list(self.gens)
        raise DesignError(f"unknown target '{target}' (weights, effects, mte, ate, full_mixture)")

    # ------------------------------------------------------------------------------- sympy surface
    def expr(self, poly: PolyElement | int) -> sympy.Expr:
        """A ring polynomial as a sympy expression in :attr:`symbols`."""
        if isinstance(poly, PolyElement):
            return poly.as_expr(*self.symbols)
        return sympy.sympify(poly)

    def moment(self, assign: Mapping[str, int], given: Mapping[str, int] | None = None) -> sympy.Expr:
        """The observable P(assign | given) as a sympy expression (a ratio when ``given`` is not empty).

        Examples
        --------
        >>> from mixid.identify import Design
        >>> m = Model(Design.builtin("paper-level2"))
        >>> sympy.expand(m.moment({"X": 1}))
        -p_X0_U0*pi_0 + p_X0_U1*pi_0 - p_X0_U1 + 1
        """
        given = dict(given or {})
        num = self.expr(self.joint_poly({**given, **assign}))
        if not given:
            return num
        return num / self.expr(self.joint_poly(given))

    def latex(self, expr: sympy.Expr) -> str:
        """LaTeX with parameters written as the probabilities they are."""
        names = {s: p.latex for s, p in zip(self.symbols, self.params)}
        return sympy.latex(expr, symbol_names=names)

    def proxy_states(self, names: Sequence[str]) -> list[dict[str, int]]:
        """Every joint state of a (joint) proxy, in row-major order."""
        return [dict(zip(names, c)) for c in itertools.product(*(range(self.dims[n]) for n in names))]

    def moment_matrix(self, rows: Sequence[str], cols: Sequence[str], t: int | None = None,
                      outcome: bool = False) -> sympy.Matrix:
        """M[rows, cols | T=t] (with an outcome factor Y when ``outcome``): E[r c^T (Y) | T=t].

        With one-hot features for categorical variables and monomial features for continuous ones.
        """
        if t is not None or outcome:
            self._require_treatment("moments given the treatment or weighted by the outcome")
        T = self.design.treatment
        given = {} if t is None else {T: t}
        denom = self.expr(self.joint_poly(given)) if given else sympy.Integer(1)
        out = []
        for r in self.proxy_states(rows):
            row = []
            for c in self.proxy_states(cols) if cols else [{}]:
                assign = {**r, **c, **given}
                if outcome:
                    num = sum((self.weight_poly(u) * self.outcome_class_mean(u, None, assign)
                               for u in range(self.k)), self._zero)
                else:
                    num = self.joint_poly(assign)
                row.append(self.expr(num) / denom)
            out.append(row)
        return sympy.Matrix(out)

    # ----------------------------------------------------------------------------- numeric evaluation
    @cached_property
    def _cells(self) -> np.ndarray:
        """Every cell of the observable tensor as rows of indices, shape (N, m[+1])."""
        return np.indices(self.cell_dims).reshape(len(self.cell_dims), -1).T

    @cached_property
    def _cell_rows(self) -> list[np.ndarray]:
        """Per variable (declaration order): the (N, k, dim) parameter codes of its law in each cell's parents."""
        names = self.design.names
        cells = self._cells
        out = []
        for name in names:
            pa_idx = np.zeros(len(cells), dtype=np.int64)
            for p in self.design.parents(name):
                pa_idx = pa_idx * self.dims[p] + cells[:, names.index(p)]
            out.append(self.tables[name][pa_idx])
        return out

    @cached_property
    def _cell_params(self) -> list[np.ndarray]:
        """Per variable (declaration order): the (N, k) parameter code of its factor in each cell."""
        N = len(self._cells)
        return [rows[np.arange(N), :, self._cells[:, i]] for i, rows in enumerate(self._cell_rows)]

    def _values(self, codes: np.ndarray, point: np.ndarray, table: np.ndarray, mod: int | None) -> np.ndarray:
        """Numeric value of parameter codes (index, LAST or ONE) given a point, elementwise."""
        out = np.where(codes >= 0, point[np.maximum(codes, 0)], 1)
        last = codes == LAST
        if last.any():
            # 1 - sum of the other categories' parameters of the same row: sum the row's free entries.
            rows = table
            sums = np.where(rows >= 0, point[np.maximum(rows, 0)], 0).sum(axis=-1)
            out = out.astype(point.dtype)
            out[last] = 1 - sums[last] if mod is None else (1 - sums[last]) % mod
        return out % mod if mod is not None else out

    def _factor_values(self, point: np.ndarray, mod: int | None) -> list[np.ndarray]:
        """Per variable: the (N, k) value of its factor in each cell at ``point``."""
        return [self._values(codes, point, rows, mod) for codes, rows in zip(self._cell_params, self._cell_rows)]

    def weights(self, point: np.ndarray, mod: int | None = None) -> np.ndarray:
        """The class weights pi at a point, shape (k,)."""
        return self._values(self._pi, np.asarray(point), np.broadcast_to(self._pi, (self.k, self.k)), mod)

    def class_tensor(self, point: np.ndarray, mod: int | None = None) -> np.ndarray:
        """P(cell | U=u) (or feature moments) for every observed cell and class: shape (*dims, k)."""
        if self.design.latent_observed:
            raise DesignError("class_tensor is defined for designs with a latent U")
        point = np.asarray(point)
        factors = self._factor_values(point, mod)
        out = np.ones((len(self._cells), self.k), dtype=point.dtype)
        for f in factors:
            out = out * f % mod if mod is not None else out * f
        return out.reshape(self.cell_dims + (self.k,))

    def marginal(self, tensor: np.ndarray, keep: Sequence[str], mod: int | None = None) -> np.ndarray:
        """Marginal moment tensor of the variables ``keep`` (in that order), trailing axes untouched.

        A categorical axis is summed out; a continuous one keeps its constant feature (index 0).
        """
        names = list(self.design.names)
        for v in reversed(names):
            if v in keep:
                continue
            ax = names.index(v)
            if self.design.variable(v).categorical:
                tensor = tensor.sum(axis=ax)
                if mod is not None:
                    tensor = tensor % mod
            else:
                tensor = np.take(tensor, 0, axis=ax)
            names.pop(ax)
        perm = [names.index(v) for v in keep] + list(range(len(names), tensor.ndim))
        return tensor.transpose(perm)

    def evaluate(self, point: np.ndarray, mod: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The observable tensor (flattened) and its Jacobian at ``point``.

        ``point`` is int64 residues modulo ``mod`` (exact over F_p) or float64 (``mod=None``).
        Returns ``(p, J)`` with shapes ``(N,)`` and ``(N, d)``.
        """
        point = np.asarray(point)
        N, k, d = len(self._cells), self.k, self.n_params
        red = (lambda a: a % mod) if mod is not None else (lambda a: a)
        factors, rows_of = self._factor_values(point, mod), self._cell_rows
        pis = self.weights(point, mod)
        if self.design.latent_observed:
            onehot = (self._cells[:, -1][:, None] == np.arange(k)[None, :]).astype(point.dtype)
            pis = red(onehot * pis[None, :])
        else:
            pis = np.broadcast_to(pis, (N, k))
        # prefix/suffix products so that "all factors but one" needs no division
        m = len(factors)
        prefix = [np.ones((N, k), dtype=point.dtype)]
        for f in factors:
            prefix.append(red(prefix[-1] * f))
        suffix = [np.ones((N, k), dtype=point.dtype)]
        for f in reversed(factors):
            suffix.append(red(suffix[-1] * f))
        suffix = suffix[::-1]
        prod_all = prefix[m]
        p = red((pis * prod_all).sum(axis=1))
        J = np.zeros((N, d), dtype=point.dtype)
        # weights
        for u in range(k):
            code = self._pi[u]
            contrib = prod_all[:, u]
            if self.design.latent_observed:
                contrib = contrib * (self._cells[:, -1] == u)
            if code >= 0:
                J[:, code] += contrib
            elif code == LAST:
                for j in self._pi[self._pi >= 0]:
                    J[:, j] -= contrib
        for i in range(m):
            q = red(pis * red(prefix[i] * suffix[i + 1]))  # (N, k): derivative w.r.t. factor i
            codes, rows = self._cell_params[i], rows_of[i]
            cell_idx = np.arange(N)
            for u in range(k):
                c = codes[:, u]
                own = c >= 0
                np.add.at(J, (cell_idx[own], c[own]), q[own, u])
                last = np.nonzero(c == LAST)[0]
                if len(last):
                    sib = rows[last, u, :]  # (L, dim) sibling codes
                    for col in range(sib.shape[1]):
                        s = sib[:, col]
                        ok = s >= 0
                        np.add.at(J, (last[ok], s[ok]), -q[last[ok], u])
        return p, red(J)

    def random_point(self, rng: np.random.Generator, mod: int | None = None) -> np.ndarray:
        """A random point: uniform residues in [1, mod) or, for floats, an interior probability point."""
        if mod is not None:
            return rng.integers(1, mod, size=self.n_params, dtype=np.int64)
        point = np.empty(self.n_params)
        for table in [self._pi[None, None, :]] + list(self.tables.values()):
            for row in table.reshape(-1, table.shape[-1]):
                free = row[row >= 0]
                if not len(free):
                    continue
                if (row == ONE).any():  # continuous feature means: any real values
                    point[free] = rng.normal(size=len(free))
                else:
                    point[free] = rng.dirichlet(np.full(len(row), 2.0))[: len(free)]
        return point


def poly_degree(poly: PolyElement) -> int:
    """Total degree of a ring polynomial (0 for constants)."""
    return max((sum(m) for m in poly.monoms()), default=0)


def eval_poly_mod(poly: PolyElement, point: Sequence[int], mod: int) -> int:
    """Value of a QQ polynomial at an integer point, reduced modulo a prime."""
    total = 0
    for monom, coeff in poly.terms():
        term = int(coeff.numerator) * pow(int(coeff.denominator), -1, mod)
        for x, e in zip(point, monom):
            if e:
                term = term * pow(int(x), e, mod) % mod
        total = (total + term) % mod
    return total


def eval_poly_exact(poly, point: Sequence) -> Fraction:
    """Value of a QQ polynomial (or a constant) at a rational point, term by term: exact, and much faster than
    calling the ring element."""
    if not hasattr(poly, "terms"):
        return Fraction(poly)
    total = Fraction(0)
    for monom, coeff in poly.terms():
        term = Fraction(int(coeff.numerator), int(coeff.denominator))
        for x, e in zip(point, monom):
            if e:
                term *= x**e
        total += term
    return total


def gradient_mod(poly: PolyElement, point: Sequence[int], mod: int) -> np.ndarray:
    """Gradient of a polynomial at a point, modulo a prime.

    Differentiated term by term (d/dx_i of c x^m is c m_i x^(m - e_i)), which is the value of ``poly.diff(g)``
    at the point for every generator g, without building those polynomials (the ring's diff is slow).
    """
    pts = [int(x) % mod for x in point]
    out = [0] * len(poly.ring.gens)
    for monom, coeff in poly.terms():
        c = int(coeff.numerator) * pow(int(coeff.denominator), -1, mod) % mod
        used = [(i, e) for i, e in enumerate(monom) if e]
        powers = {i: pow(pts[i], e, mod) for i, e in used}
        for i, e in used:
            d = c * e * pow(pts[i], e - 1, mod) % mod
            for j, _ in used:
                if j != i:
                    d = d * powers[j] % mod
            out[i] = (out[i] + d) % mod
    return np.array(out, dtype=np.int64)
