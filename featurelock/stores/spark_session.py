"""The Spark session of the ``spark`` profile: one per process, with the settings the hash path needs.

The master URL comes from ``FEATURELOCK_SPARK_MASTER`` (default ``local[2]``: this machine, two
cores); every other setting is fixed here, because each one can change a value or an order:
the session time zone is UTC (timestamps are instants; no local-zone math), ANSI mode is on (an
overflow or a bad cast is an error, never a null or a wrapped number), Parquet timestamps are
written in microseconds (DuckDB's and Feast's unit), and Arrow carries frames to and from pandas.
``FEATURELOCK_SPARK_SHUFFLE_PARTITIONS`` (default 2) sizes shuffles and
``FEATURELOCK_SPARK_DRIVER_MEMORY`` (default Spark's 1g) the driver; they change speed, not results.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
from pathlib import Path
from typing import Any

LOG_CONFIG = Path(__file__).resolve().with_name("spark_log4j2.properties")
MASTER_ENV = "FEATURELOCK_SPARK_MASTER"
PARTITIONS_ENV = "FEATURELOCK_SPARK_SHUFFLE_PARTITIONS"
DRIVER_MEMORY_ENV = "FEATURELOCK_SPARK_DRIVER_MEMORY"
DEFAULT_MASTER = "local[2]"

#: Settings that decide values or their order: the same on every cluster.
FIXED = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.ansi.enabled": "true",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.legacy.parquet.nanosAsLong": "true",  # pandas' nanosecond Parquet: read as integers
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.execution.arrow.pyspark.fallback.enabled": "false",
    "spark.driver.extraJavaOptions": f"-Duser.timezone=UTC -Dlog4j2.configurationFile=file:{LOG_CONFIG}",
    "spark.executor.extraJavaOptions": "-Duser.timezone=UTC",
}


#: Runtime settings of how data is read and moved (set on any session featurelock is handed).
READ_SETTINGS = (
    "spark.sql.parquet.outputTimestampType",
    "spark.sql.legacy.parquet.nanosAsLong",
    "spark.sql.execution.arrow.pyspark.enabled",
    "spark.sql.execution.arrow.pyspark.fallback.enabled",
)


def master_url() -> str:
    return os.environ.get(MASTER_ENV, "").strip() or DEFAULT_MASTER


def spark_type(dtype: Any) -> Any:
    """The Spark type of a pandas column (an explicit schema, so empty and all-null columns keep one)."""
    import pandas as pd
    from pyspark.sql import types as T

    if isinstance(dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(dtype):
        return T.TimestampType()
    if pd.api.types.is_bool_dtype(dtype):
        return T.BooleanType()
    if pd.api.types.is_integer_dtype(dtype):
        return T.LongType()
    if pd.api.types.is_float_dtype(dtype):
        return T.DoubleType()
    return T.StringType()


def spark_schema(frame: Any) -> Any:
    """The Spark schema of a pandas frame, column by column (``spark_type``), all nullable."""
    from pyspark.sql import types as T

    return T.StructType([T.StructField(str(c), spark_type(frame[c].dtype), True) for c in frame.columns])


def spark_missing() -> str | None:
    """Why Spark cannot start here (pyspark or Java missing), or None when it can."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed (it is in requirements.lock; `pip install featurelock[spark]`)"
    if not (os.environ.get("JAVA_HOME") or shutil.which("java")):
        return "Java is not installed (Spark needs Java 17 or newer; set JAVA_HOME or put java on PATH)"
    return None


def spark_session() -> Any:
    """The process's Spark session (created on first use with ``FIXED`` and the master URL)."""
    from featurelock.core.errors import ValidationError

    missing = spark_missing()
    if missing:
        raise ValidationError(f"The spark profile needs Spark: {missing}.")
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        check_settings(active)
        for key in READ_SETTINGS:  # how Parquet and Arrow are read: set on a session made elsewhere
            active.conf.set(key, FIXED[key])
        return active
    master = master_url()
    builder = SparkSession.builder.master(master).appName("featurelock")
    settings = dict(FIXED)
    settings["spark.sql.shuffle.partitions"] = os.environ.get(PARTITIONS_ENV, "2")
    settings["spark.log.level"] = "ERROR"
    settings["spark.ui.showConsoleProgress"] = "false"
    if os.environ.get(DRIVER_MEMORY_ENV):  # local mode: the executors live in the driver's JVM
        settings["spark.driver.memory"] = os.environ[DRIVER_MEMORY_ENV]
    if not master.startswith("local"):  # a cluster: its executors start this interpreter, named here
        python = os.environ.get("PYSPARK_PYTHON") or sys.executable
        settings |= {"spark.pyspark.python": python, "spark.pyspark.driver.python": sys.executable}
    if master.startswith("local"):
        settings |= {
            "spark.ui.enabled": "false",
            "spark.driver.bindAddress": "127.0.0.1",
            "spark.driver.host": "127.0.0.1",
        }
        os.environ.setdefault(
            "SPARK_LOCAL_IP", "127.0.0.1"
        )  # the JVM binds loopback (read only from the env)
        if not os.environ.get("PYSPARK_PYTHON"):
            # PySpark reads only the variable: Python workers (the tie-break) run this interpreter
            os.environ["PYSPARK_PYTHON"] = sys.executable
    for key in sorted(settings):
        builder = builder.config(key, settings[key])
    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):  # errors are raised, not logged
        logging.getLogger(name).setLevel(logging.CRITICAL)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def check_settings(session: Any) -> None:
    """Refuse a session (e.g. one a notebook made first) whose value-deciding settings differ."""
    from featurelock.core.errors import ValidationError

    for key in ("spark.sql.session.timeZone", "spark.sql.ansi.enabled"):
        value = session.conf.get(key)
        if str(value).lower() != FIXED[key].lower():
            raise ValidationError(
                f"The active Spark session has {key}={value!r}; featurelock needs {FIXED[key]!r} (it "
                "decides values). Set it on the session, or let featurelock create the session."
            )
