"""Re-exports the upstream ODS helpers the generated op classes import from `._ods_common`."""

from mlir.dialects._ods_common import *  # noqa: F401,F403
from mlir.dialects._ods_common import _cext  # noqa: F401
