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
    raw: str = "data/raw"
    prepared: str = "data/prepared"
    model: str = "models/model"
    reports: str = "reports"


class DataParams(Section):
    source: str = "sklearn:digits"
    target: str = "label"
    task: Literal["auto", "classification", "regression"] = Field(
        "auto",
        description="What to predict: classes or a number; auto picks regression for a "
        "target of numbers with many distinct values, classification otherwise",
    )
    features: list[str] | None = None
    image_size: tuple[int, int] = (8, 8)
    channels: Literal[1, 3] = 1
    normalize_labels: bool = False
    normalize_categories: bool = False
    suspect_columns: Literal["exclude", "fail", "keep"] = "exclude"
    resize: Literal["crop", "pad", "stretch"] = "crop"

    @field_validator("image_size")
    @classmethod
    def _positive_size(cls, size: tuple[int, int]) -> tuple[int, int]:
        if min(size) < 1:
            raise ValueError("both height and width must be at least 1")
        return size


class DriftParams(Section):
    """Drift of new raw data against the training data of the registered champion."""

    action: Literal["warn", "fail"] = "warn"
    numeric_threshold: float = Field(0.25, gt=0)
    categorical_threshold: float = Field(0.1, gt=0, le=1)
    columns: dict[str, float] = Field(default_factory=dict)
    reference: str | None = None

    @field_validator("columns")
    @classmethod
    def _positive_thresholds(cls, columns: dict[str, float]) -> dict[str, float]:
        bad = [name for name, value in columns.items() if value <= 0]
        if bad:
            raise ValueError(f"thresholds must be greater than 0 (columns {bad})")
        return columns


class ValidateParams(Section):
    suite: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    max_null_target: float = Field(0.05, ge=0, le=1)
    min_classes: int = Field(2, ge=2)
    min_rows_per_class: int = Field(10, ge=3)
    max_duplicate_share: float = Field(0.05, ge=0, le=1)
    batch_mb: float = Field(64, gt=0)
    drift: DriftParams = DriftParams()


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

    filters: list[int] = Field(default_factory=lambda: [32, 64], min_length=1)
    kernel_size: int = Field(3, gt=0)
    pooling: Literal["max", "average", "none"] = "max"
    batch_norm: bool = False
    block_dropout: float = Field(0.0, ge=0, lt=1)
    dense_units: int = Field(64, gt=0)
    dropout: float = Field(0.2, ge=0, lt=1)


class MlpParams(Section):
    units: list[int] = Field(default_factory=lambda: [64, 32], min_length=1)
    batch_norm: bool = False
    dropout: float = Field(0.1, ge=0, lt=1)


class AugmentParams(Section):
    """Random changes to training images, made by Keras layers inside the model.

    Factors follow the Keras layers: a fraction of a full turn (rotation), of the image size
    (zoom, translation) or of the value range (contrast, brightness), drawn from [-f, f].
    """

    flip: Literal["none", "horizontal", "vertical", "horizontal_and_vertical"] = "none"
    rotation: float = Field(0.0, ge=0, le=0.5)
    zoom: float = Field(0.0, ge=0, lt=1)
    translation: float = Field(0.0, ge=0, le=0.5)
    contrast: float = Field(0.0, ge=0, lt=1)
    brightness: float = Field(0.0, ge=0, le=1)


BACKBONES = ("mobilenet_v3_small", "mobilenet_v3_large", "efficientnet_v2_b0")
WEIGHTS_SUFFIXES = (".h5", ".hdf5", ".keras")


class BackboneParams(Section):
    """A pretrained keras.applications network under the image head (`name: null`: the CNN)."""

    name: Literal[BACKBONES] | None = None  # type: ignore[valid-type]
    weights: str | None = "imagenet"
    dropout: float = Field(0.2, ge=0, lt=1)
    fine_tune_epochs: int = Field(10, ge=0)
    fine_tune_layers: int = Field(30, ge=0)
    fine_tune_learning_rate: float = Field(1e-5, gt=0)

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


class TrainParams(Section):
    seed: int = 42
    deterministic: bool = False
    epochs: int = Field(30, gt=0)
    batch_size: int = Field(32, gt=0)
    learning_rate: float = Field(0.002, gt=0)
    optimizer: Literal["adam", "adamw", "sgd", "rmsprop"] = "adam"
    schedule: Literal["constant", "cosine", "exponential"] = "constant"
    decay_rate: float = Field(0.9, gt=0, lt=1)
    l2: float = Field(0.0, ge=0)
    early_stopping_patience: int = Field(5, ge=0)
    reduce_lr_patience: int = Field(3, ge=0)
    reduce_lr_factor: float = Field(0.5, gt=0, lt=1)
    device: Literal["auto", "cpu", "gpu"] = "auto"
    precision: Literal["auto", "float32", "mixed_float16", "mixed_bfloat16"] = "auto"
    jit_compile: Literal["auto"] | bool = "auto"
    cache_max_mb: float = Field(1024, ge=0)
    shuffle_buffer: int = Field(10_000, gt=0)
    tensorboard: bool = True
    backup_dir: str = "models/.backup"
    backup_every_seconds: float = Field(
        30,
        ge=0,
        description="Least time between two backups of a running training (weights, optimizer "
        "state, history), taken at an epoch's end and always at a phase's end; a killed "
        "training resumes from the last one (0: after every epoch)",
    )
    class_weight: Literal["balanced"] | dict[str, float] | None = None
    loss: Literal["mse", "mae", "huber"] = Field(
        "mse", description="Regression: the loss on the scaled target"
    )
    target_transform: Literal["none", "log"] = Field(
        "none",
        description="Regression: log learns log(1 + y), for positive skewed targets such as "
        "prices; undone inside the model",
    )
    augment: AugmentParams = AugmentParams()
    backbone: BackboneParams = BackboneParams()
    cnn: CnnParams = CnnParams()
    mlp: MlpParams = MlpParams()

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

    column: str
    bins: list[float] | None = Field(None, min_length=2)
    min_accuracy: float | None = Field(None, ge=0, le=1)
    max_rmse: float | None = Field(None, gt=0, description="Regression: the slice's RMSE at most")


class GateParams(Section):
    min_accuracy: float | None = Field(0.95, ge=0, le=1)
    min_macro_f1: float | None = Field(0.9, ge=0, le=1)
    max_log_loss: float | None = Field(None, gt=0)
    min_r2: float | None = Field(
        0.0, le=1, description="Regression: R² at least (0: better than predicting the mean)"
    )
    max_rmse: float | None = Field(None, gt=0, description="Regression: RMSE at most")
    max_mae: float | None = Field(None, gt=0, description="Regression: MAE at most")
    max_regression: float | None = Field(0.01, ge=0)
    require_significant: bool = False
    mcnemar_alpha: float = Field(0.05, gt=0, lt=1)


class EvaluateParams(Section):
    gate: GateParams = GateParams()
    slices: list[SliceGate] = Field(default_factory=list)
    compare_champion: bool = True
    min_comparison_rows: int = Field(
        30,
        ge=1,
        description="Fewest test rows the champion never trained or validated on that a "
        "comparison needs; with fewer, the gate refuses to compare",
    )


class RegisterParams(Section):
    artifact: str = Field("model", pattern=NAME_PATTERN)
    bump: Literal["major", "minor", "patch"] = "minor"
    stage: str = Field("staging", pattern=NAME_PATTERN)
    auto_promote: bool = False
    push: bool = False
    git_remote: str = Field("origin", pattern=REMOTE_PATTERN)
    dvc_remote: str | None = Field(None, pattern=REMOTE_PATTERN)


class FlowParams(Section):
    """The Prefect run around the stages. No stage reads these, so changing one reruns none."""

    train_retries: int = Field(1, ge=0)
    retry_delay_seconds: float = Field(5, ge=0)


MOVED = {
    "train.retries": "flow.train_retries",
    "train.retry_delay_seconds": "flow.retry_delay_seconds",
    "validate.batch_rows": "validate.batch_mb (a batch is now sized in megabytes)",
}


class Params(Section):
    paths: PathsParams = PathsParams()
    data: DataParams = DataParams()
    validate_: ValidateParams = Field(ValidateParams(), alias="validate")
    prepare: PrepareParams = PrepareParams()
    train: TrainParams = TrainParams()
    evaluate: EvaluateParams = EvaluateParams()
    register_: RegisterParams = Field(RegisterParams(), alias="register")
    flow: FlowParams = FlowParams()

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
