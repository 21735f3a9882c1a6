ALGORITHMS = {
    "tpe": hyperopt.tpe.suggest,
    "rand": hyperopt.rand.suggest,
    "atpe": hyperopt.atpe.suggest,
    "anneal": hyperopt.anneal.suggest,
}


def trial_seed(run_seed, tid):
    """A 31-bit seed that depends only on the run seed and the trial id."""
    return int(np.random.SeedSequence([run_seed, tid]).generate_state(1)[0] >> 1)


class SeededAlgorithm:
    """A hyperopt algorithm that seeds each suggestion from (run seed, trial id).

    fmin hands algorithms seeds drawn from one stream that starts afresh in
    every process, so a resumed search would replay the first trials' seeds.
    Seeding by trial id makes a resumed search sample what an uninterrupted
    one would have. Warm-start points (--points) are suggested first.
    """

    def __init__(self, name, run_seed, points=()):
        if name == "atpe":
            try:
                import lightgbm  # noqa: F401  (hyperopt's ATPE needs it but does not install it)
            except ImportError:
                sys.exit(
                    "error: --algo atpe needs lightgbm: pip install lightgbm scikit-learn"
                )
        self.suggest = ALGORITHMS[name]
        self.run_seed = run_seed
        self.points = list(points)

    def __call__(self, new_ids, domain, trials, seed):
        docs = []
        for tid in new_ids:
            if tid < len(self.points):
                docs.append(point_trial(domain, trials, tid, self.points[tid]))
            else:
                docs.extend(
                    self.suggest([tid], domain, trials, trial_seed(self.run_seed, tid))
                )
        return docs


def read_points(path):
    """Load --points: a JSON list of {name: real value} configurations."""
    if path is None:
        return []
    try:
        with open(path, encoding="utf-8") as f:
            points = json.load(f)
    except (OSError, ValueError) as exc:
        sys.exit(f"error: cannot read --points {path}: {exc}")
    if not isinstance(points, list) or not all(isinstance(p, dict) for p in points):
        sys.exit(f"error: --points {path} must hold a JSON list of objects")
    try:
        for point in points:
            hyperopt_values(point)
    except ValueError as exc:
        sys.exit(f"error: --points {path}: {exc}")
    return points


def hyperopt_values(point):
    """Real values by name -> hyperopt's values by label (choice values become indices)."""
    described = {p["name"]: p for p in PARAMETERS}
    values = {}
    pending = [
        (p["name"], point[p["name"]])
        for p in PARAMETERS
        if p["parent"] is None and p["name"] in point
    ]
    missing = [
        p["name"] for p in PARAMETERS if p["parent"] is None and p["name"] not in point
    ]
    unknown = sorted(set(point) - set(described))
    if missing or unknown:
        raise ValueError(
            f"point {point} lacks {missing} or has unknown names {unknown}"
        )
    while pending:
        name, value = pending.pop()
        param = described[name]
        if param["options"] is None:
            values[name] = value
            continue
        index = option_index(param, value)
        values[name] = index
        nested = param["nested"].get(str(index))
        if nested is not None:
            pending.append((nested, point.get(nested, value)))
    return values


def option_index(param, value):
    for index, text in enumerate(param["options"]):
        if param["object"]:
            if value == text:
                return index
        elif str(index) not in param["nested"] and jsonable(
            literal_value(text)
        ) == jsonable(value):
            return index
    for index in sorted(param["nested"], key=int):
        return int(index)  # the value belongs to a nested distribution
    raise ValueError(
        f"{value!r} is not an option of {param['name']}: {param['options']}"
    )


def literal_value(text):
    try:
        return ast.literal_eval(text)
    except ValueError:
        return text


def point_trial(domain, trials, tid, point):
    """A trial document for a warm-start point, as hyperopt's algorithms make them."""
    values = hyperopt_values(point)
    idxs = {label: [tid] if label in values else [] for label in domain.params}
    vals = {
        label: [values[label]] if label in values else [] for label in domain.params
    }
    misc = {
        "tid": tid,
        "cmd": domain.cmd,
        "workdir": domain.workdir,
        "idxs": idxs,
        "vals": vals,
    }
    return trials.new_trial_docs([tid], [None], [domain.new_result()], [misc])[0]


def real_values(space, trial):
    """A trial's sampled values as the model saw them (choice options, not indices).

    Top-level parameters come from evaluating the space; an active nested
    parameter is also listed under its own name, so it can be analysed alone.
    """
    vals = {label: v[0] for label, v in trial["misc"]["vals"].items() if len(v)}
    values = hyperopt.space_eval(space, vals)
    for param in reversed(PARAMETERS):  # deepest first, so parents can read them
        name = param["name"]
        if param["parent"] is not None and name in vals:
            values[name] = (
                option_value(param, vals[name], values)
                if param["options"] is not None
                else vals[name]
            )
    return jsonable(
        {p["name"]: values[p["name"]] for p in PARAMETERS if p["name"] in values}
    )


def option_value(param, index, values):
    """The value a choice's option index stands for."""
    nested = param["nested"].get(str(index))
    if nested is not None:
        return values.get(nested)
    text = param["options"][index]
    return text if param["object"] else literal_value(text)


def jsonable(value):
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)
