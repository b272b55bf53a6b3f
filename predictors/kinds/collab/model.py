"""What a recommender's model is made of, read from the model itself, and what is computed with it.

A model is one of three, found by looking at it and checked against its own forward pass on sample pairs:
- `dot`: a dot product of a user's and an item's factors plus their biases, through a sigmoid onto the rating range
  when it has one (fastai's `EmbeddingDotBias`, the book's `DotProductBias` written in a notebook). Every item's
  rating for one person is one matrix product, and a new person is *folded in exactly*: their factors and bias are
  the least-squares fit of their own ratings against the trained item factors and biases (closed form in the
  sigmoid's logit space, then Gauss–Newton steps on the ratings themselves), pulled towards the trained users by a
  Gaussian prior whose mean and covariance are those of the trained users' vectors.
- `net`: embeddings concatenated and read by layers (fastai's `EmbeddingNN`, `collab_learner(use_nn=True)`). A new
  person is folded in by a few gradient steps on their user embedding alone (the layers and item embeddings fixed),
  from the trained users' mean, with the same prior: a network has no closed form.
- `opaque`: anything else; known users and items are answered through the model's forward pass, nobody new.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

__all__ = ['Factors', 'read_model', 'KINDS_OF_MODEL']

KINDS_OF_MODEL = {'dot': 'a dot product of factors with biases', 'net': 'an embedding network',
                  'opaque': 'a model read through its forward pass only'}
_BLOCK = 64          # items per block in `top_each`'s search: the best blocks first, then the best items in them


@dataclass
class Factors:
    "A recommender's model as the predictor uses it (`mode`: 'dot', 'net' or 'opaque'; see the module's docstring)."
    model: torch.nn.Module
    mode: str
    U: np.ndarray | None = None          # users × factors (dot) or the user embedding (net)
    V: np.ndarray | None = None          # items × factors (dot) or the item embedding (net)
    bu: np.ndarray | None = None         # users (dot)
    bi: np.ndarray | None = None         # items (dot)
    y_range: tuple | None = None
    n_items: int = 0
    batch: int = 65536
    _f32: list | None = None             # the factors as float32 tensors, made on the first `top_each`

    # ---- ratings ------------------------------------------------------------------------------------------------
    def _squash(self, z: np.ndarray) -> np.ndarray:
        if self.y_range is None: return z
        lo, hi = self.y_range
        return lo + (hi - lo) / (1 + np.exp(-z))

    def pairs(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        "The rating of each (user index, item index) pair, as the model's forward pass gives it (float64)."
        out = []
        with torch.inference_mode():
            for s in range(0, len(users), self.batch):
                x = torch.from_numpy(np.stack([users[s:s + self.batch], items[s:s + self.batch]], 1).astype(np.int64))
                out.append(self.model(x).float().reshape(-1).numpy().astype(np.float64))
        return np.concatenate(out) if out else np.zeros(0)

    def user_scores(self, users: np.ndarray) -> np.ndarray:
        "Every item's rating for each of `users` (indices): users × items."
        if self.mode == 'dot':
            z = self.U[users] @ self.V.T + self.bu[users, None] + self.bi[None, :]
            return self._squash(z)
        n = self.n_items
        items = np.arange(n)
        return np.stack([self.pairs(np.full(n, u), items) for u in users]) if len(users) else np.zeros((0, n))

    def top_each(self, users: np.ndarray, bonus: np.ndarray, exclude: list, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Each of `users`' `n` best items by rating plus `bonus` (the ranking's nudge), leaving out item 0 (#na#) and each
        one's `exclude`: (people × n item indices, their ratings), in float32 in one product (a dot model)."""
        import torch
        if self.mode != 'dot':
            r = self.user_scores(users)
            s = r + bonus
            s[:, 0] = -np.inf
            for k, x in enumerate(exclude): s[k, np.asarray(x, int)] = -np.inf
            idx = np.argsort(-s, axis=1, kind='stable')[:, :n]
            return idx, np.take_along_axis(r, idx, 1)
        n = min(n, len(self.bi) - 1)
        if self._f32 is None:                             # the items padded to whole blocks: zero factors, bias -inf
            pad = -len(self.bi) % _BLOCK
            V = np.vstack([self.V, np.zeros((pad, self.V.shape[1]))])
            bi = np.concatenate([self.bi, np.full(pad, -np.inf)])
            self._f32 = [torch.from_numpy(a.astype(np.float32)) for a in (self.U, V, self.bu, bi)]
        b = torch.from_numpy(np.concatenate([bonus, np.full(len(self._f32[3]) - len(bonus), -np.inf)]).astype(np.float32))
        out = [self._top_chunk(users[s:s + 128], b, exclude[s:s + 128], n) for s in range(0, len(users), 128)]
        return (np.concatenate([o[0] for o in out]), np.concatenate([o[1] for o in out])) if out else (
            np.zeros((0, n), np.int64), np.zeros((0, n)))

    def _top_chunk(self, users, b, exclude: list, n: int):
        """`top_each` of a few people at a time (their ratings stay in the processor's cache from the product to the top
        n): the n best blocks of `_BLOCK` items by their best score hold the n best items, so the top n is sought in them."""
        import torch
        U, V, bu, bi = self._f32
        with torch.inference_mode():
            idx_u = torch.from_numpy(np.asarray(users, np.int64))
            r = torch.addmm(bi.expand(len(idx_u), -1), U[idx_u], V.T).add_(bu[idx_u, None])
            if self.y_range is not None: r.sigmoid_().mul_(self.y_range[1] - self.y_range[0]).add_(self.y_range[0])
            r.add_(b)                                     # (in place: the rating is the score less the bonus)
            r[:, 0] = -np.inf
            lens = [len(x) for x in exclude]
            if sum(lens):
                r[torch.from_numpy(np.repeat(np.arange(len(r)), lens)), torch.from_numpy(np.concatenate(
                    [np.asarray(x, np.int64) for x in exclude]))] = -np.inf
            best = r.view(len(r), -1, _BLOCK).amax(-1)
            blocks = torch.topk(best, min(n, best.shape[1]), dim=1).indices
            near = (blocks[:, :, None] * _BLOCK + torch.arange(_BLOCK)).reshape(len(r), -1)
            score, k = torch.topk(torch.gather(r, 1, near), n, dim=1)
            idx = torch.gather(near, 1, k)
            return idx.numpy(), (score - b[idx]).numpy().astype(np.float64)

    # ---- a new person -------------------------------------------------------------------------------------------
    def prior(self) -> tuple[np.ndarray, np.ndarray]:
        "Mean and covariance of the trained users' vectors (dot: factors and bias; net: embedding); row 0 is #na#."
        W = np.hstack([self.U[1:], self.bu[1:, None]]) if self.mode == 'dot' else self.U[1:]
        cov = np.cov(W, rowvar=False) + 1e-6 * np.eye(W.shape[1])
        return W.mean(0), cov

    def fold_in(self, items: np.ndarray, ratings: np.ndarray, noise: float = 0.5) -> np.ndarray:
        """A new person's vector fitted from their own ratings of `items` (indices), the model fixed: the least-squares
        fit with the trained users' Gaussian prior (`noise`: the variance of a rating about the model's answer)."""
        mean, cov = self.prior()
        if self.mode == 'dot': return self._fold_dot(items, np.asarray(ratings, float), mean, cov, noise)
        if self.mode == 'net': return self._fold_net(items, np.asarray(ratings, float), mean, cov, noise)
        raise ValueError('this model cannot place a new person (it is read through its forward pass only)')

    def _fold_dot(self, items, r, mean, cov, noise) -> np.ndarray:
        X = np.hstack([self.V[items], np.ones((len(items), 1))])          # factors and the user's bias
        P = np.linalg.inv(cov)
        if self.y_range is None:
            A = X.T @ X / noise + P
            return np.linalg.solve(A, X.T @ (r - self.bi[items]) / noise + P @ mean)
        lo, hi = self.y_range
        p = np.clip((r - lo) / (hi - lo), 1e-3, 1 - 1e-3)
        t = np.log(p / (1 - p)) - self.bi[items]                             # the ratings in the sigmoid's logit space
        w = np.linalg.solve(X.T @ X + P, X.T @ t + P @ mean)
        for _ in range(8):                                                  # Gauss–Newton on the ratings themselves
            z = X @ w + self.bi[items]
            s = 1 / (1 + np.exp(-z))
            pred, d = lo + (hi - lo) * s, (hi - lo) * s * (1 - s)
            J = X * d[:, None]
            step = np.linalg.solve(J.T @ J / noise + P, J.T @ (r - pred) / noise - P @ (w - mean))
            w = w + step
            if np.abs(step).max() < 1e-6: break
        return w

    def _fold_net(self, items, r, mean, cov, noise, steps: int = 150) -> np.ndarray:
        emb_items = torch.from_numpy(self.V[items]).float()
        target = torch.from_numpy(r).float()
        P = torch.from_numpy(np.linalg.inv(cov)).float()
        mu = torch.from_numpy(mean).float()
        v = mu.clone().requires_grad_(True)
        opt = torch.optim.Adam([v], lr=0.05)
        for _ in range(steps):
            opt.zero_grad()
            pred = self.net_forward(v.expand(len(items), -1), emb_items)
            d = v - mu
            loss = ((pred - target) ** 2).sum() / noise + d @ P @ d
            loss.backward(); opt.step()
        return v.detach().numpy().astype(np.float64)

    def net_forward(self, eu, ei):
        "An embedding network's ratings from user and item embeddings (its layers, as its forward pass reads them)."
        m = self.model
        return m.layers(m.emb_drop(torch.cat([eu, ei], 1))).reshape(-1)

    def vector_scores(self, w: np.ndarray) -> np.ndarray:
        "Every item's rating for a folded-in person's vector `w`."
        if self.mode == 'dot': return self._squash(self.V @ w[:-1] + w[-1] + self.bi)
        with torch.inference_mode():
            V = torch.from_numpy(self.V).float()
            return self.net_forward(torch.from_numpy(w).float().expand(len(V), -1), V).numpy().astype(np.float64)

    # ---- items ---------------------------------------------------------------------------------------------------
    def item_vectors(self) -> np.ndarray | None:
        "The items' vectors (factors or embedding), unit length: what 'near' means between items (None: opaque)."
        if self.V is None: return None
        n = np.linalg.norm(self.V, axis=1, keepdims=True)
        return self.V / np.where(n > 0, n, 1)


def _weight(m) -> np.ndarray:
    "An embedding's or a parameter's values as float64."
    t = m.weight if hasattr(m, 'weight') else m
    return t.detach().float().cpu().numpy().astype(np.float64)


def _tensors(model) -> list:
    "(name, 2-D values) of the model's embeddings and 1- or 2-D parameters."
    out = []
    for name, mod in model.named_modules():
        if isinstance(mod, torch.nn.Embedding): out.append((name, _weight(mod)))
    for name, p in model.named_parameters():
        if name.endswith('.weight') and any(n == name[:-len('.weight')] for n, _ in out): continue
        if p.dim() in (1, 2): out.append((name, _weight(p)))
    return out


def _dot_parts(model, n_users: int, n_items: int):
    "The user and item factors and biases of a dot-product model, found by shape, or None."
    parts = _tensors(model)
    pick = lambda rows, wide: next((w if w.ndim == 2 else w[:, None] for _, w in parts if len(w) == rows and
                                    (w.ndim == 2 and (w.shape[1] > 1) == wide or w.ndim == 1 and not wide)), None)
    U, V, bu, bi = pick(n_users, True), pick(n_items, True), pick(n_users, False), pick(n_items, False)
    if U is None or V is None or U.shape[1] != V.shape[1]: return None
    bu = bu[:, 0] if bu is not None else np.zeros(n_users)
    bi = bi[:, 0] if bi is not None else np.zeros(n_items)
    return U, V, bu, bi


def _y_range(model):
    yr = getattr(model, 'y_range', None)
    return (float(yr[0]), float(yr[1])) if yr is not None else None


def read_model(model, n_users: int, n_items: int, seed: int = 0) -> Factors:
    "What `model` is (`dot`, `net` or `opaque`), checked against its forward pass on sample pairs."
    model = model.eval()
    rng = np.random.default_rng(seed)
    users, items = rng.integers(1, n_users, 64), rng.integers(1, n_items, 64)
    plain = Factors(model, 'opaque', n_items=n_items)
    want = plain.pairs(users, items)
    dot = _dot_parts(model, n_users, n_items)
    if dot is not None:
        f = Factors(model, 'dot', *dot, y_range=_y_range(model), n_items=n_items)
        if np.allclose(f.user_scores(users)[np.arange(64), items], want, atol=1e-4): return f
    embeds = getattr(model, 'embeds', None)
    if embeds is not None and len(embeds) == 2 and hasattr(model, 'layers'):
        f = Factors(model, 'net', U=_weight(embeds[0]), V=_weight(embeds[1]), y_range=_y_range(model), n_items=n_items)
        if len(f.U) == n_users and len(f.V) == n_items:
            with torch.inference_mode():
                got = f.net_forward(torch.from_numpy(f.U[users]).float(), torch.from_numpy(f.V[items]).float()).numpy()
            if np.allclose(got, want, atol=1e-4): return f
    return plain
