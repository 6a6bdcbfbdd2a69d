"""Check statements against each other and against a built corpus.

`compare(a, b)` relates two statements; `check(db, statement)` finds the corpus claims that
corroborate or conflict with one; `stance(statement, sentences)` sums a text's sentences up into
one relation towards a statement (the FNC-1 benchmark's headline-body stance). All three rest on
`conflicts.relate` and the same embeddings as the build.
"""

from __future__ import annotations

import numpy as np

from verify import conflicts, embed, names, pipeline, store
from verify import stance as stance_model

def _vectors(texts: list[str], model: str | None, backend: str | None = None) -> np.ndarray:
    return embed.encode([names.canonical_text(t) for t in texts], model, backend=backend)


def compare(a: str, b: str, model: str | None = None, judge: conflicts.NliJudge | None = None) -> dict:
    return compare_many([{"id": None, "a": a, "b": b}], model, judge)[0]


def compare_many(pairs: list[dict], model: str | None = None, judge: conflicts.NliJudge | None = None) -> list[dict]:
    """[{"id", "a", "b"}] -> [{"id", "relation", "kind", "score", "explanation", "cues"}], batched."""
    if not pairs:
        return []
    texts = list(dict.fromkeys([p["a"] for p in pairs] + [p["b"] for p in pairs]))
    vecs = dict(zip(texts, _vectors(texts, model)))
    probs = judge([(p["a"], p["b"]) for p in pairs]) if judge else [None] * len(pairs)
    out = []
    for pair, p in zip(pairs, probs):
        similarity = float(vecs[pair["a"]] @ vecs[pair["b"]])
        relation = conflicts.judged(conflicts.relate(pair["a"], pair["b"], similarity), p)
        out.append({"id": pair.get("id"), **relation.as_dict()})
    return out


def corpus_vectors(db, model: str | None = None) -> tuple[list[dict], np.ndarray, str]:
    """The built corpus's claims, their vectors (from the cache; encoded only if missing) and the
    `embed.model_key` they are stored under: the build's model and backend unless `model` is given."""
    build = store.last_build(db)
    model_key = embed.model_key(model) if model else (build["model"] if build else None) or embed.model_key(None)
    articles = [dict(r) for r in db.query("select id, text from articles")]
    claims = store.claims(db)
    texts = pipeline.embedding_inputs(articles, claims)
    cache = store.load_embeddings(db, model_key, [embed.text_hash(t) for t in texts])
    load_name, backend = embed.split_model_key(model_key)
    vectors, _ = embed.embed_texts(texts, load_name, cache, backend=backend)
    return claims, vectors, model_key


def check(db, statement: str, model: str | None = None, judge: conflicts.NliJudge | None = None,
          limit: int = 50) -> dict:
    """Corpus claims that corroborate or conflict with `statement`, each with outlet and why.

    Besides direct comparison, a statement inherits the recorded conflicts of the claims that
    say the same thing: if it repeats Austin's accusation, Peskov's denial conflicts with it too.
    """
    claims, vectors, model_key = corpus_vectors(db, model)
    if not claims:
        return {"statement": statement, "corroborates": [], "conflicts": [], "related": 0}
    v = _vectors([statement], *embed.split_model_key(model_key))[0]  # as the corpus was embedded
    sims = vectors @ v
    order = np.argsort(-sims)[:limit]
    chosen = [int(i) for i in order if sims[i] >= conflicts.RELATED]
    probs = judge([(statement, claims[i]["text"]) for i in chosen]) if judge else [None] * len(chosen)
    statement_analysis = conflicts.analyse(statement)
    results: dict[str, dict] = {}
    related = 0
    for i, p in zip(chosen, probs):
        rel = conflicts.judged(conflicts.relate(statement_analysis, claims[i]["text"], float(sims[i])), p)
        if rel.relation in ("corroborates", "conflicts"):
            results[claims[i]["id"]] = {**_claim_summary(claims[i]), **rel.as_dict()}
        else:
            related += 1
    # Inherit: conflicts recorded against claims that corroborate the statement.
    agreeing = {cid for cid, r in results.items() if r["relation"] == "corroborates"}
    by_id = {c["id"]: c for c in claims}
    for row in store.conflicts(db):
        if row["review"] == "dismissed":
            continue
        for mine, other in ((row["claim_a"], row["claim_b"]), (row["claim_b"], row["claim_a"])):
            if mine in agreeing and other not in results and other in by_id:
                results[other] = {
                    **_claim_summary(by_id[other]), "relation": "conflicts", "kind": row["kind"],
                    "score": round(min(row["score"], results[mine]["score"]), 3),
                    "explanation": f"conflicts with claim {mine}, which says the same: {row['explanation']}",
                    "cues": row["cues"],
                }
    ranked = sorted(results.values(), key=lambda r: -r["score"])
    # Each article that touches the statement, as a whole: its stance over all its claims.
    touched = list(dict.fromkeys(claims[i]["article_id"] for i in chosen))
    members = {a: [i for i, c in enumerate(claims) if c["article_id"] == a] for a in touched}
    verdicts = stance_many([(statement, [claims[i]["text"] for i in members[a]], vectors[members[a]], v) for a in touched])
    articles = []
    for article_id, verdict in zip(touched, verdicts):
        first = claims[members[article_id][0]]
        articles.append({"article_id": article_id, "title": first.get("title"), "outlet": first.get("outlet"),
                         "origin": first.get("origin"), **verdict})
    return {
        "statement": statement,
        "corroborates": [r for r in ranked if r["relation"] == "corroborates"],
        "conflicts": [r for r in ranked if r["relation"] == "conflicts"],
        "related": related,
        "articles": articles,
    }


def _claim_summary(claim: dict) -> dict:
    return {k: claim.get(k) for k in ("id", "text", "outlet", "origin", "speaker", "cluster_id", "status")}


def stance(statement: str, sentences: list[str], sentence_vectors: np.ndarray, statement_vector: np.ndarray,
           use_model: bool = True) -> dict:
    """One relation of a text (its sentences) towards a statement; see `stance_many`."""
    return stance_many([(statement, sentences, sentence_vectors, statement_vector)], use_model)[0]


def _rule_stance(statement: str, sentences: list[str], sims: np.ndarray) -> conflicts.Relation | None:
    """The rules over the closest sentences: conflicts, else corroborates, else related."""
    analysis = conflicts.analyse(statement)
    best: dict[str, conflicts.Relation] = {}
    for i in np.argsort(-sims)[:8]:
        rel = conflicts.relate(analysis, sentences[int(i)], float(sims[i]))
        if rel.relation not in best or rel.score > best[rel.relation].score:
            best[rel.relation] = rel
    return next((best[r] for r in ("conflicts", "corroborates", "related") if r in best), None)


def stance_many(items: list[tuple[str, list[str], np.ndarray, np.ndarray]], use_model: bool = True) -> list[dict]:
    """Relations of texts towards statements: items are (statement, sentences, their vectors,
    statement vector). With the trained stance model (models/stance/) its label decides,
    combined with the rules as the model's evaluation chose (a rule-found conflict may override
    agree/discuss); without it, the rules alone. The closest sentence is the evidence."""
    model = stance_model.load() if use_model else None
    combine = (stance_model.evaluation() or {}).get("combine", "model")
    rows, rules, sims_list = [], [], []
    for statement, sentences, vectors, v in items:
        sims = vectors @ v if len(sentences) else np.zeros(0)
        sims_list.append(sims)
        rules.append(_rule_stance(statement, sentences, sims) if len(sentences) else None)
        if model is not None:
            rows.append(stance_model.features(statement, sentences, vectors, v))
    labels = stance_model.predict(rows, model) if model is not None else [None] * len(items)
    out = []
    for (statement, sentences, _, _), sims, rule, label in zip(items, sims_list, rules, labels):
        evidence = sentences[int(np.argmax(sims))] if len(sentences) else None
        top = float(sims.max()) if len(sentences) else 0.0
        if label is None:
            if rule is None:
                out.append({"relation": "unrelated", "kind": None, "score": top,
                            "explanation": "not about the same thing", "evidence": evidence})
            else:
                out.append({**rule.as_dict(), "evidence": evidence})
            continue
        relation = stance_model.TO_RELATION[label]
        why = f"stance model: {label}"
        if combine == "rules-disagree" and rule is not None and rule.relation == "conflicts" and label in ("agree", "discuss"):
            relation, why = "conflicts", f"stance model: {label}, overridden by the rules"
        if rule is not None:
            why += f"; rules: {rule.explanation}"
        out.append({"relation": relation, "kind": rule.kind if rule is not None and relation == "conflicts" else None,
                    "score": top, "explanation": why, "evidence": evidence})
    return out
