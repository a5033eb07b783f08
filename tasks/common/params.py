"""The only reader and writer of params.yaml: one pydantic model per section.

Every other module receives a validated `Params`; an invalid file or `--set` override fails
here, before any stage runs, with the dotted key and the reason.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from ruamel.yaml import YAML, YAMLError

from tasks.common.errors import ParamsError

PARAMS_FILE = "params.yaml"
NAME_PATTERN = r"^[a-z][a-z0-9-]*[a-z0-9]$"
REMOTE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"  # a git or DVC remote name, never an option


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PathsParams(Section):
    raw: str = Field("data/raw", description="Folder ingest writes the raw data to (DVC-tracked)")
    prepared: str = Field(
        "data/prepared", description="Folder prepare writes the splits to (DVC-tracked)"
    )
    model: str = Field(
        "models/model", description="Folder train writes the model to (the registered artifact)"
    )
    reports: str = Field("reports", description="Folder of the stages' reports, metrics and plots")


class DataParams(Section):
    source: str = Field(
        "sklearn:digits",
        description="sklearn:digits, sklearn:breast_cancer or sklearn:diabetes (bundled, no "
        "download), or the path of a CSV/Parquet file, a folder of them, or a folder "
        "of images or of text files (.txt) with one subfolder per class (with data.labels: "
        "a folder of images or text files, any subfolders part of each file's path)",
    )
    labels: str | None = Field(
        None,
        description="A CSV/Parquet labels table naming each file of the data.source folder and "
        "its target (column data.target); null: class folders are the classes",
    )
    labels_file_column: str = Field(
        "file",
        min_length=1,
        description="The labels table's column naming each file, relative to data.source",
    )
    target: str = Field(
        "label",
        description="The target column of a table or of the data.labels table (images and text "
        "files without data.labels: the class folder name)",
    )
    task: Literal["auto", "classification", "regression"] = Field(
        "auto",
        description="What to predict: classes or a number; auto picks regression for a "
        "target of numbers with many distinct values, classification otherwise",
    )
    features: list[str] | None = Field(
        None, description="Table columns the model reads; null: every column but the target"
    )
    image_size: tuple[int, int] = Field(
        (8, 8),
        description="Height and width every image is resized to, in training and at serving time",
    )
    channels: Literal[1, 3] = Field(
        1, description="1 (grayscale) or 3 (RGB); every image is converted (alpha over white)"
    )
    normalize_labels: bool = Field(
        False,
        description="Labels that differ only in case or surrounding spaces become one label "
        "(trimmed, lower-case); false: validation fails on them",
    )
    normalize_categories: bool = Field(
        False,
        description="Category values that differ only in case or surrounding spaces become one "
        "value, in training and inside the model at serving time",
    )
    suspect_columns: Literal["exclude", "fail", "keep"] = Field(
        "exclude",
        description="Columns that look like identifiers (a distinct value in nearly every row), "
        "constant or all missing: exclude (left out, with a warning), fail, or keep",
    )
    text_columns: list[str] | None = Field(
        None,
        description="Table columns of free text (reviews, tickets), vectorised inside the "
        "model; null: detected from the data (several words per value, mostly distinct); "
        "[]: none",
    )
    resize: Literal["crop", "pad", "stretch"] = Field(
        "crop",
        description="How an image of another aspect ratio fits image_size: crop (centre), pad "
        "(black bars) or stretch",
    )

    @field_validator("image_size")
    @classmethod
    def _positive_size(cls, size: tuple[int, int]) -> tuple[int, int]:
        if min(size) < 1:
            raise ValueError("both height and width must be at least 1")
        return size


class DriftParams(Section):
    """Drift of new raw data against the training data of the registered champion."""

    action: Literal["warn", "fail"] = Field(
        "warn", description="What drift does: warn (the run goes on) or fail (exit 3)"
    )
    numeric_threshold: float = Field(
        0.25,
        gt=0,
        description="Population stability index (PSI) of a numeric column above which it has "
        "drifted",
    )
    categorical_threshold: float = Field(
        0.1,
        gt=0,
        le=1,
        description="Largest change in any category's share (L-infinity distance) above which a "
        "category, label or image-size column has drifted",
    )
    vocabulary_threshold: float = Field(
        0.1,
        gt=0,
        le=1,
        description="Rise in the share of a text column's words outside the training split's "
        "vocabulary (over the share expected from the training data) above which its "
        "vocabulary has drifted",
    )
    columns: dict[str, float] = Field(
        default_factory=dict,
        description="Per-column thresholds that replace the numeric or categorical one (for a "
        "text column: on its length), e.g. {label: 0.05}",
    )
    reference: str | None = Field(
        None, description="A reference.json to compare against instead of the registered champion's"
    )

    @field_validator("columns")
    @classmethod
    def _positive_thresholds(cls, columns: dict[str, float]) -> dict[str, float]:
        bad = [name for name, value in columns.items() if value <= 0]
        if bad:
            raise ValueError(f"thresholds must be greater than 0 (columns {bad})")
        return columns


class ValidateParams(Section):
    suite: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        description="A committed Great Expectations suite, gx/expectations/<suite>.json "
        "(`trainflow suite init` drafts one); null: the built-in checks only",
    )
    max_null_target: float = Field(
        0.05,
        ge=0,
        le=1,
        description="Share of rows with a missing target that is tolerated (they are dropped)",
    )
    min_classes: int = Field(
        2, ge=2, description="Classification: fewest classes the data must have"
    )
    min_rows_per_class: int = Field(
        10, ge=3, description="Classification: fewest samples each class must have"
    )
    max_duplicate_share: float = Field(
        0.05,
        ge=0,
        le=1,
        description="Share of samples that may repeat an earlier one (same features, or same "
        "image content)",
    )
    batch_mb: float = Field(
        64,
        gt=0,
        description="Column data per checked batch in MB: memory stays bounded however large the "
        "table",
    )
    drift: DriftParams = Field(
        DriftParams(),
        description="Drift of new raw data against the registered champion's training split",
    )


class PrepareParams(Section):
    seed: int = Field(
        42,
        description="Salts the hash that puts each sample in train, val or test; a new seed "
        "draws a fresh test set",
    )
    val_size: float = Field(0.15, gt=0, lt=1, description="Share of samples in the val split")
    test_size: float = Field(0.15, gt=0, lt=1, description="Share of samples in the test split")
    split_key: list[str] | None = Field(
        None,
        description="Table columns that identify a sample (e.g. customer_id): rows sharing a "
        "key share a split; null: a row is identified by its feature values",
    )

    @field_validator("split_key", mode="before")
    @classmethod
    def _key_columns(cls, key: object) -> object:
        """One column name or a list of them."""
        if isinstance(key, str):
            return [key]
        if isinstance(key, list) and not key:
            raise ValueError("must name at least one column, or be null")
        return key

    @model_validator(mode="after")
    def _leaves_training_rows(self) -> PrepareParams:
        if self.val_size + self.test_size >= 0.9:
            raise ValueError("val_size + test_size must leave at least 10% for training")
        return self


class CnnParams(Section):
    """Image model: one conv block per entry of `filters`, then a dense head."""

    filters: list[int] = Field(
        default_factory=lambda: [32, 64],
        min_length=1,
        description="Filters of each conv block, one block per entry",
    )
    kernel_size: int = Field(3, gt=0, description="Size of the square conv kernels")
    pooling: Literal["max", "average", "none"] = Field(
        "max", description="Pooling after each conv block: max, average or none"
    )
    batch_norm: bool = Field(False, description="Batch normalisation in each conv block")
    block_dropout: float = Field(0.0, ge=0, lt=1, description="Dropout after each conv block")
    dense_units: int = Field(64, gt=0, description="Units of the dense layer before the head")
    dropout: float = Field(0.2, ge=0, lt=1, description="Dropout before the head")


class MlpParams(Section):
    units: list[int] = Field(
        default_factory=lambda: [64, 32],
        min_length=1,
        description="Units of each hidden dense layer",
    )
    batch_norm: bool = Field(False, description="Batch normalisation after each hidden layer")
    dropout: float = Field(0.1, ge=0, lt=1, description="Dropout after each hidden layer")


class AugmentParams(Section):
    """Random changes to training images, made by Keras layers inside the model.

    Factors follow the Keras layers: a fraction of a full turn (rotation), of the image size
    (zoom, translation) or of the value range (contrast, brightness), drawn from [-f, f].
    """

    flip: Literal["none", "horizontal", "vertical", "horizontal_and_vertical"] = Field(
        "none", description="Random flips: none, horizontal, vertical or horizontal_and_vertical"
    )
    rotation: float = Field(
        0.0,
        ge=0,
        le=0.5,
        description="Random rotation by up to this fraction of a full turn, either way (0.05 = 18 "
        "degrees)",
    )
    zoom: float = Field(0.0, ge=0, lt=1, description="Random zoom in or out by up to this fraction")
    translation: float = Field(
        0.0, ge=0, le=0.5, description="Random shift by up to this fraction of the height and width"
    )
    contrast: float = Field(
        0.0, ge=0, lt=1, description="Random contrast factor drawn from [1 - x, 1 + x]"
    )
    brightness: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Random brightness change of up to this fraction of the value range, either "
        "way",
    )


BACKBONES = ("mobilenet_v3_small", "mobilenet_v3_large", "efficientnet_v2_b0")
WEIGHTS_SUFFIXES = (".h5", ".hdf5", ".keras")


class BackboneParams(Section):
    """A pretrained keras.applications network under the image head (`name: null`: the CNN)."""

    name: Literal[BACKBONES] | None = Field(  # type: ignore[valid-type]
        None,
        description="A pretrained keras.applications network under the image head; null: the cnn "
        "model",
    )
    weights: str | None = Field(
        "imagenet",
        description="imagenet (Keras downloads them once), none, or the path of a weights file "
        "(.h5, .hdf5, .keras)",
    )
    dropout: float = Field(0.2, ge=0, lt=1, description="Dropout before the head")
    fine_tune_epochs: int = Field(
        10,
        ge=0,
        description="Epochs of fine-tuning after `epochs` on the frozen backbone; 0: head only",
    )
    fine_tune_layers: int = Field(
        30,
        ge=0,
        description="Top backbone layers unfrozen for fine-tuning (BatchNorm stays frozen)",
    )
    fine_tune_learning_rate: float = Field(
        1e-5, gt=0, description="Learning rate while fine-tuning"
    )

    @field_validator("weights")
    @classmethod
    def _weights_source(cls, weights: str | None) -> str | None:
        if weights is None or weights.lower() == "none":
            return None
        if weights != "imagenet" and not weights.lower().endswith(WEIGHTS_SUFFIXES):
            raise ValueError(
                "must be imagenet, none, or the path of a Keras weights file "
                f"(ending in {', '.join(WEIGHTS_SUFFIXES)})"
            )
        return weights


class TextParams(Section):
    """Free-text inputs: a Keras TextVectorization layer inside the model, fitted on the
    training split (vocabulary, and the inverse document frequencies for tf_idf)."""

    max_tokens: int = Field(
        20_000, ge=2, description="Vocabulary size: the most frequent words and n-grams kept"
    )
    ngrams: int = Field(
        2, ge=1, le=5, description="Word n-grams up to this length are tokens (1: words only)"
    )
    output_mode: Literal["tf_idf", "multi_hot", "count", "embedding"] = Field(
        "tf_idf",
        description="How a text becomes numbers: tf_idf, multi_hot or count over the "
        "vocabulary, or embedding (learned word vectors, averaged)",
    )
    standardize: Literal["lower_and_strip_punctuation", "lower", "strip_punctuation", "none"] = (
        Field(
            "lower_and_strip_punctuation",
            description="What TextVectorization does to a text before splitting it into words",
        )
    )
    sequence_length: int = Field(
        200, ge=1, description="embedding: words per text looked at (longer texts are cut)"
    )
    embedding_dim: int = Field(64, ge=1, description="embedding: size of each word vector")
    dropout: float = Field(
        0.0, ge=0, lt=1, description="Dropout on each text's vector, while training only"
    )


class TrainParams(Section):
    seed: int = Field(42, description="Seeds weight initialisation, shuffling and dropout")
    deterministic: bool = Field(
        False, description="Identical weights and metrics on every run (slower on GPU)"
    )
    epochs: int = Field(
        30, gt=0, description="Most epochs to train (early stopping may end sooner)"
    )
    batch_size: int = Field(
        32, gt=0, description="Global batch size, split across replicas on several GPUs"
    )
    learning_rate: float = Field(
        0.002, gt=0, description="The optimizer's (starting) learning rate"
    )
    optimizer: Literal["adam", "adamw", "sgd", "rmsprop"] = Field(
        "adam", description="adam, adamw, sgd or rmsprop"
    )
    schedule: Literal["constant", "cosine", "exponential"] = Field(
        "constant",
        description="Learning-rate schedule: constant, cosine (to 0 at the last epoch) or "
        "exponential",
    )
    decay_rate: float = Field(
        0.9, gt=0, lt=1, description="Exponential schedule: learning-rate factor per epoch"
    )
    l2: float = Field(0.0, ge=0, description="L2 weight penalty on conv and dense kernels; 0: off")
    early_stopping_patience: int = Field(
        5,
        ge=0,
        description="Stop after this many epochs without a better val loss and keep the best "
        "epoch's weights; 0: off",
    )
    reduce_lr_patience: int = Field(
        3,
        ge=0,
        description="Multiply the learning rate by reduce_lr_factor after this many flat epochs; "
        "0: off (constant schedule only)",
    )
    reduce_lr_factor: float = Field(
        0.5, gt=0, lt=1, description="Factor of each learning-rate reduction"
    )
    device: Literal["auto", "cpu", "gpu"] = Field(
        "auto", description="auto (every visible GPU, else CPU), cpu or gpu"
    )
    precision: Literal["auto", "float32", "mixed_float16", "mixed_bfloat16"] = Field(
        "auto",
        description="auto (GPU: mixed_bfloat16 or mixed_float16; CPU: float32), float32, "
        "mixed_float16 or mixed_bfloat16",
    )
    jit_compile: Literal["auto"] | bool = Field(
        "auto", description="XLA compilation: auto (on for GPU), true or false"
    )
    cache_max_mb: float = Field(
        1024,
        ge=0,
        description="A split is held in memory if its tensors fit this many MB and half the free "
        "memory; else it is streamed from Parquet",
    )
    shuffle_buffer: int = Field(
        10_000, gt=0, description="Rows shuffled together when a split is streamed"
    )
    tensorboard: bool = Field(True, description="Write per-epoch curves to reports/tensorboard")
    backup_dir: str = Field(
        "models/.backup",
        description="Where training backs itself up so a killed run resumes; removed after success",
    )
    backup_every_seconds: float = Field(
        30,
        ge=0,
        description="Least time between two backups of a running training (weights, optimizer "
        "state, history), taken at an epoch's end and always at a phase's end; a killed "
        "training resumes from the last one (0: after every epoch)",
    )
    class_weight: Literal["balanced"] | dict[str, float] | None = Field(
        None,
        description="Classification: null, balanced (n / (classes * count)) or {class: weight} "
        "(others 1)",
    )
    loss: Literal["mse", "mae", "huber"] = Field(
        "mse", description="Regression: the loss on the scaled target"
    )
    target_transform: Literal["none", "log"] = Field(
        "none",
        description="Regression: log learns log(1 + y), for positive skewed targets such as "
        "prices; undone inside the model",
    )
    augment: AugmentParams = Field(
        AugmentParams(),
        description="Images: random Keras layers inside the model, active only while training",
    )
    backbone: BackboneParams = Field(
        BackboneParams(), description="Images: a pretrained network under the head"
    )
    cnn: CnnParams = Field(CnnParams(), description="Images without a backbone: the conv network")
    mlp: MlpParams = Field(MlpParams(), description="Tables: the dense network")
    text: TextParams = Field(
        TextParams(), description="Text columns: how the model vectorises them"
    )

    @field_validator("class_weight", mode="before")
    @classmethod
    def _class_weights(cls, weights: object) -> object:
        """null, `balanced`, or {class: weight > 0}; YAML reads a class named 1 as a number."""
        if weights is None or weights == "balanced":
            return weights
        if not isinstance(weights, dict):
            raise ValueError("must be balanced, null, or a mapping of class name to weight")
        bad = [
            name
            for name, value in weights.items()
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0
        ]
        if bad:
            raise ValueError(f"class weights must be numbers greater than 0 (classes {bad})")
        return {str(name): float(value) for name, value in weights.items()}

    @model_validator(mode="after")
    def _plateau_needs_constant_rate(self) -> TrainParams:
        if self.reduce_lr_patience and self.schedule != "constant":
            raise ValueError(
                f"reduce_lr_patience must be 0 with schedule {self.schedule}: "
                "ReduceLROnPlateau can only lower a constant learning rate"
            )
        return self


class SliceGate(Section):
    """A slice of the test split (tabular data) with its own metrics and optional threshold."""

    column: str = Field(
        description="The test split's column that defines the slices (one slice per value, or per "
        "bin)"
    )
    bins: list[float] | None = Field(
        None, min_length=2, description="Numeric column: bin edges, e.g. [0, 30, 60, 120]"
    )
    min_accuracy: float | None = Field(
        None, ge=0, le=1, description="Classification: each slice's accuracy at least"
    )
    max_rmse: float | None = Field(None, gt=0, description="Regression: the slice's RMSE at most")


class GateParams(Section):
    min_accuracy: float | None = Field(
        0.95, ge=0, le=1, description="Classification: test accuracy at least"
    )
    min_macro_f1: float | None = Field(
        0.9, ge=0, le=1, description="Classification: test macro F1 at least"
    )
    max_log_loss: float | None = Field(
        None, gt=0, description="Classification: test log loss at most"
    )
    min_r2: float | None = Field(
        0.0, le=1, description="Regression: R² at least (0: better than predicting the mean)"
    )
    max_rmse: float | None = Field(None, gt=0, description="Regression: RMSE at most")
    max_mae: float | None = Field(None, gt=0, description="Regression: MAE at most")
    max_regression: float | None = Field(
        0.01,
        ge=0,
        description="Against the champion, each gated metric may be worse by at most this (rmse, "
        "mae: this share of the champion's)",
    )
    require_significant: bool = Field(
        False,
        description="Also require the challenger to be significantly better than the champion "
        "(McNemar; regression: Wilcoxon on the absolute errors)",
    )
    mcnemar_alpha: float = Field(0.05, gt=0, lt=1, description="Significance level of either test")
    max_serving_difference: float | None = Field(
        1e-4,
        ge=0,
        description="Infra validation: the exported SavedModel, loaded in a fresh process as a "
        "server loads it, may differ from the Keras model on the test rows by at most this, "
        "as |served - keras| / (1 + |keras|); null skips the check",
    )


class EvaluateParams(Section):
    gate: GateParams = Field(
        GateParams(),
        description="The checks a model must pass to be registered; null turns a check off",
    )
    slices: list[SliceGate] = Field(
        default_factory=list,
        description="Tables: slices of the test split with their own metrics and thresholds",
    )
    compare_champion: bool = Field(
        True,
        description="Score the champion (prod, else the latest version) on the same test rows; "
        "false: judge the challenger on the thresholds alone",
    )
    min_comparison_rows: int = Field(
        30,
        ge=1,
        description="Fewest test rows the champion never trained or validated on that a "
        "comparison needs; with fewer, the gate refuses to compare",
    )


class RegisterParams(Section):
    artifact: str = Field(
        "model",
        pattern=NAME_PATTERN,
        description="The model's name in dvc.yaml `artifacts:` and in GTO tags (model@v0.1.0)",
    )
    bump: Literal["major", "minor", "patch"] = Field(
        "minor", description="Which part of the version a registration bumps: major, minor or patch"
    )
    stage: str = Field(
        "staging", pattern=NAME_PATTERN, description="The GTO stage a new version is assigned"
    )
    auto_promote: bool = Field(
        False, description="Also assign prod when the gate passed against a champion"
    )
    push: bool = Field(
        False,
        description="Publish each registration: files to the DVC remote, then the commit and tags "
        "to git",
    )
    git_remote: str = Field(
        "origin",
        pattern=REMOTE_PATTERN,
        description="The git remote that receives the registration commit and its tags",
    )
    dvc_remote: str | None = Field(
        None,
        pattern=REMOTE_PATTERN,
        description="The DVC remote for data, models and run-cache; null: the repository's default",
    )


class FlowParams(Section):
    """The Prefect run around the stages. No stage reads these, so changing one reruns none."""

    train_retries: int = Field(
        1, ge=0, description="Retries of a crashed training; it resumes from its last backup"
    )
    retry_delay_seconds: float = Field(
        5, ge=0, description="Seconds before the first retry, doubled for each next one"
    )


ALERTS = ("failed", "crashed", "refused", "drift", "stale")


class AlertsParams(Section):
    """`trainflow alerts`: Prefect automations that tell a team. No stage reads these."""

    block: str | None = Field(
        None,
        pattern=r"^[a-z0-9-]+/[^/]+$",
        description="The Prefect notification block the alerts are sent through, as "
        "TYPE/NAME (e.g. slack-webhook/ml-team; `prefect block ls` lists them)",
    )
    on: list[Literal[ALERTS]] = Field(  # type: ignore[valid-type]
        default_factory=lambda: list(ALERTS),
        description="Which alerts to keep: failed (a run failed), crashed (a run crashed), "
        "refused (the gate refused a challenger), drift (new data drifted), stale (no new "
        "version for `stale_days`)",
    )
    stale_days: float = Field(
        14, gt=0, description="Days without a new registered version before the stale alert"
    )


MOVED = {
    "train.retries": "flow.train_retries",
    "train.retry_delay_seconds": "flow.retry_delay_seconds",
    "validate.batch_rows": "validate.batch_mb (a batch is now sized in megabytes)",
}


class Params(Section):
    paths: PathsParams = Field(
        PathsParams(), description="Where the stages write; dvc.yaml reads these same values"
    )
    data: DataParams = Field(DataParams(), description="What the data is and how to read it")
    validate_: ValidateParams = Field(
        ValidateParams(),
        alias="validate",
        description="The data checks (Great Expectations) and drift",
    )
    prepare: PrepareParams = Field(PrepareParams(), description="How samples are split")
    train: TrainParams = Field(TrainParams(), description="The model and how it trains")
    evaluate: EvaluateParams = Field(
        EvaluateParams(), description="The gate: thresholds and the comparison with the champion"
    )
    register_: RegisterParams = Field(
        RegisterParams(),
        alias="register",
        description="The registry: names, versions, stages, remotes",
    )
    flow: FlowParams = Field(
        FlowParams(), description="The Prefect run around the stages (no stage reads these)"
    )
    alerts: AlertsParams = Field(
        AlertsParams(), description="`trainflow alerts`: who is told what (no stage reads these)"
    )

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _null(representer, _value):
    return representer.represent_scalar("tag:yaml.org,2002:null", "null")


def _yaml() -> YAML:
    """Round-trip YAML that writes params.yaml back as it was: comments, quotes, `null`."""
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.representer.add_representer(type(None), _null)
    return yaml


def _reason(message: str) -> str:
    message = message.removeprefix("Value error, ")
    message = re.sub(r"^Input should be ", "must be ", message)
    return "unknown key" if message == "Extra inputs are not permitted" else message


def describe(err: ValidationError, source: str) -> str:
    """Turn pydantic's errors into `file: dotted.key: reason` lines."""
    lines = []
    for item in err.errors():
        key = ".".join(str(part) for part in item["loc"]) or "(top level)"
        reason = _reason(item["msg"])
        if reason == "unknown key" and key in MOVED:
            reason = f"moved to {MOVED[key]}"
        lines.append(f"{source}: {key}: {reason}")
    return "\n".join(lines)


def validate(raw: object, source: str = PARAMS_FILE) -> Params:
    """Validate a parsed params mapping; raise ParamsError naming every bad key."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ParamsError(f"{source}: must be a mapping of sections, got {type(raw).__name__}")
    try:
        return Params.model_validate(raw)
    except ValidationError as err:
        raise ParamsError(describe(err, source)) from None


def read_raw(path: str | os.PathLike[str] = PARAMS_FILE) -> dict:
    """Parse params.yaml as a round-trip mapping (comments kept for `write_raw`)."""
    path = Path(path)
    if not path.exists():
        raise ParamsError(f"{path}: file not found")
    try:
        raw = _yaml().load(path.read_text())
    except YAMLError as err:
        raise ParamsError(f"{path}: not valid YAML: {err}") from None
    return raw if raw is not None else {}


def apply_overrides(raw: dict, overrides: Iterable[str]) -> dict:
    """Apply `KEY=VALUE` overrides (values parsed as YAML) to a raw params mapping in place."""
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ParamsError(f"--set {item}: expected KEY=VALUE, e.g. train.epochs=5")
        *parents, leaf = key.split(".")
        node = raw
        for part in parents:
            child = node.get(part) if isinstance(node, dict) else None
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                raise ParamsError(f"--set {item}: {part} is not a section")
            node = child
        try:
            node[leaf] = _yaml().load(io.StringIO(value)) if value else None
        except YAMLError as err:
            raise ParamsError(f"--set {item}: value is not valid YAML: {err}") from None
    return raw


def load_params(
    path: str | os.PathLike[str] = PARAMS_FILE, overrides: Iterable[str] = ()
) -> Params:
    """Read and validate params.yaml, with optional `KEY=VALUE` overrides (not written)."""
    overrides = list(overrides)
    raw = apply_overrides(read_raw(path), overrides)
    return validate(raw, f"{path} with --set" if overrides else str(path))


def write_overrides(path: str | os.PathLike[str], overrides: Iterable[str]) -> Params:
    """Validate overrides, then write them into params.yaml (as `dvc exp run -S` does)."""
    overrides = list(overrides)
    raw = apply_overrides(read_raw(path), overrides)
    params = validate(raw, f"{path} with --set" if overrides else str(path))
    if overrides:
        buffer = io.StringIO()
        _yaml().dump(raw, buffer)
        tmp = Path(f"{path}.tmp")
        tmp.write_text(buffer.getvalue())
        os.replace(tmp, path)
    return params
