"""The accountability report (issue 5): performance against target, payments against
caps, returns, restatements, variations, network, payer split and social value.

``build`` computes it as Structs from a contract state (pure); ``csv``, ``html`` and
``text`` render it; ``source`` loads a state as of a ledger position or time.
"""

from .build import build_portfolio, build_report
from .model import ContractReport, PortfolioReport

__all__ = ["ContractReport", "PortfolioReport", "build_portfolio", "build_report"]
