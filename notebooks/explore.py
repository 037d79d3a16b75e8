# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Research on the production code: the delay model's training set, and a model nobody declared
#
# The same functions `featurelock` runs in production, called from a notebook
# (`featurelock.api`). Open it with Jupyter (`jupytext --to ipynb notebooks/explore.py`), or let
# CI run it (`tests/e2e/test_notebook.py`): the training-set hash it prints must equal
# `featurelock dataset build`'s, and its run must pass `featurelock reproduce`.

# %%
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from sklearn.ensemble import RandomForestClassifier

import featurelock.api as fl

project = fl.open_project()  # FEATURELOCK_PROJECT, or the folder this notebook is in and its parents
SERVICE = "delay_model_v1"
print(project)
print("services:", sorted(fl.services(project)))

# %% [markdown]
# ## The training set, as known at the newest knowledge time

# %%
ts = fl.training_set(project, SERVICE)
frame = ts.frame
print(f"training set sha256: {ts.sha256}")
print(f"as_of: {ts.manifest.as_of}; rows: {len(frame):,}; columns: {list(frame.columns)[:6]} ...")
frame.describe().T.head(8)

# %% [markdown]
# Delays by scheduled hour (local New York time): the share of flights leaving 15+ minutes late
# grows through the day as delays propagate.

# %%
by_hour = frame.groupby("sched_dep_hour_v1")["label"].mean()
fig, ax = plt.subplots(figsize=(6, 3))
by_hour.plot.bar(ax=ax)
ax.set(xlabel="scheduled hour (New York)", ylabel="share delayed 15+ min", title="Delays by hour")
fig.savefig(project.home / "delays_by_hour.png", dpi=80, bbox_inches="tight")
print(by_hour.round(3).to_dict())

# %% [markdown]
# ## A model the project does not declare: a random forest, trained and recorded like any run
#
# An ad-hoc estimator is written with the run (skops, with the types it needs named here), so the
# run reproduces and can be promoted and served like the project's own model specs.

# %%
forest = RandomForestClassifier(n_estimators=20, max_depth=8, min_samples_leaf=50, max_samples=0.2)
run = fl.train(project, SERVICE, estimator=forest, trusted_types=("sklearn.tree._tree.Tree",))
print(f"run: {run.run_id}")
print(f"report: {run.path / 'report.html'}")
for name, row in run.record.metrics.items():
    print(f"{name:<60} roc_auc {row['roc_auc']:.4f}  log_loss {row['log_loss']:.4f}")

# %% [markdown]
# ## Compared with the promoted run

# %%
promoted = [r for r in fl.runs(project) if r.promoted]
if promoted:
    best = promoted[0]
    delta = run.record.metric("roc_auc") - best.roc_auc
    print(f"promoted {best.run_id} ({best.model}): roc_auc {best.roc_auc:.4f}; forest {delta:+.4f}")
else:
    print("no promoted run yet: `featurelock train --service delay_model_v1 --promote`")
