#!/usr/bin/env python3
"""Gradient boosting references for a house-price split (Benchmarks/california.sh runs it).

Usage: lightgbm_reference.py TRAIN.csv TEST.csv [--target median_house_value]
Prints tab-separated "name<TAB>test RMSE" lines:
  - LightGBM with its defaults (early stopping on a validation split);
  - LightGBM tuned: a grid over learning rate {0.02, 0.05, 0.1}, leaves {15, 31, 63, 127} and
    minimum leaf size {10, 20, 50}, each with early stopping (up to 5,000 rounds) on a seeded 10 %
    validation split of the training file; the configuration with the best validation RMSE is
    refitted on the same 90 % with its best round count and scored once on the test file;
  - scikit-learn's HistGradientBoostingRegressor with its defaults.
Categorical columns (text) are given to both as pandas categories. The test file is used only for
the final scores.
"""
import argparse
import itertools

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.model_selection import train_test_split


def load(path, target, categories=None):
    frame = pd.read_csv(path)
    y = frame.pop(target).to_numpy(dtype=float)
    for column in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[column]):
            frame[column] = pd.Categorical(frame[column], categories=None if categories is None else categories[column])
    return frame, y


def rmse(a, b):
    return float(np.sqrt(np.mean((np.asarray(a) - np.asarray(b)) ** 2)))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("train")
    parser.add_argument("test")
    parser.add_argument("--target", default="median_house_value")
    args = parser.parse_args()
    x, y = load(args.train, args.target)
    categories = {c: x[c].cat.categories for c in x.columns if str(x[c].dtype) == "category"}
    x_test, y_test = load(args.test, args.target, categories)
    x_fit, x_valid, y_fit, y_valid = train_test_split(x, y, test_size=0.1, random_state=0)

    def fit(params, rounds=5000, stop=True):
        model = lgb.LGBMRegressor(n_estimators=rounds, random_state=0, verbose=-1, **params)
        callbacks = [lgb.early_stopping(100, verbose=False)] if stop else []
        model.fit(x_fit, y_fit, eval_set=[(x_valid, y_valid)], callbacks=callbacks)
        return model

    default = fit({})
    print(f"LightGBM, defaults (early stopping)\t{rmse(default.predict(x_test), y_test)}")
    best = None
    for rate, leaves, leaf in itertools.product([0.02, 0.05, 0.1], [15, 31, 63, 127], [10, 20, 50]):
        params = {"learning_rate": rate, "num_leaves": leaves, "min_child_samples": leaf}
        model = fit(params)
        score = rmse(model.predict(x_valid), y_valid)
        if best is None or score < best[0]:
            best = (score, params, model.best_iteration_)
    tuned = fit(best[1], rounds=best[2], stop=False)
    print(f"LightGBM, tuned (best of the search by validation RMSE)\t{rmse(tuned.predict(x_test), y_test)}")
    print(f"  chosen: {best[1]}, {best[2]} rounds (its validation RMSE)\t{best[0]}")
    histogram = HistGradientBoostingRegressor(random_state=0, categorical_features="from_dtype").fit(x, y)
    print(f"scikit-learn HistGradientBoosting, defaults\t{rmse(histogram.predict(x_test), y_test)}")


if __name__ == "__main__":
    main()
