"""Example training code for the platform: trains a classifier and logs the run to the stage's MLflow server.

Runs unchanged where the platform puts training code, because each of those gets MLFLOW_TRACKING_URI (the
tracking server ARN) from the platform:
  - a SageMaker training job of the model delivery pipeline (the job's environment; data in SM_CHANNEL_TRAIN),
  - a Ray pod of the default RayCluster (container environment), e.g. `ray job submit -- python train.py --data s3://...`,
  - a GPU box (/etc/profile.d/cdk-mlops-training.sh in every login shell, SSM sessions included).

It logs params, metrics and the model (MLflow 3 logged model), and prints `validation:accuracy=<value>`, the line the
pipeline's evaluation gate reads from the training logs. Install with `pip install -r requirements.txt`.
"""
import argparse
import glob
import os

import joblib  # installed with scikit-learn
import mlflow
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split


def load(data: str) -> pd.DataFrame:
    """All CSV files under a local directory or an S3 prefix (pandas reads s3:// with s3fs)."""
    if data.startswith("s3://"):
        return pd.read_csv(data)
    files = sorted(glob.glob(os.path.join(data, "*.csv")))
    if not files:
        raise SystemExit(f"no CSV files in {data}")
    return pd.concat([pd.read_csv(f) for f in files], ignore_index=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=os.environ.get("SM_CHANNEL_TRAIN", "data"))
    parser.add_argument("--label", default="label")
    parser.add_argument("--experiment", default=os.environ.get("MLFLOW_EXPERIMENT_NAME", "churn"))
    parser.add_argument("--c", type=float, default=1.0)
    parser.add_argument("--max-iter", type=int, default=200)
    parser.add_argument("--model-dir", default=os.environ.get("SM_MODEL_DIR", "model"))
    args = parser.parse_args()

    if "MLFLOW_TRACKING_URI" not in os.environ:
        raise SystemExit("MLFLOW_TRACKING_URI is not set: the platform sets it on training jobs, Ray pods and GPU boxes")
    mlflow.set_tracking_uri(os.environ["MLFLOW_TRACKING_URI"])
    mlflow.set_experiment(args.experiment)

    frame = load(args.data)
    features, labels = frame.drop(columns=[args.label]), frame[args.label]
    x_train, x_val, y_train, y_val = train_test_split(features, labels, test_size=0.2, random_state=42)

    with mlflow.start_run():
        mlflow.log_params({"C": args.c, "max_iter": args.max_iter, "rows": len(frame)})
        model = LogisticRegression(C=args.c, max_iter=args.max_iter).fit(x_train, y_train)
        accuracy = accuracy_score(y_val, model.predict(x_val))
        mlflow.log_metric("validation_accuracy", accuracy)
        mlflow.sklearn.log_model(model, name="model", input_example=x_val.head(5))
        print(f"validation:accuracy={accuracy:.4f}")

    # The SageMaker training job packages this directory as the model artifact the pipeline registers.
    os.makedirs(args.model_dir, exist_ok=True)
    joblib.dump(model, os.path.join(args.model_dir, "model.joblib"))


if __name__ == "__main__":
    main()
