"""Processors: handlers that emit output records, written with the deployment's guarantee
to the topics its settings map for the colour's role. See docs/processors.md.

Only the contract is imported here: ``turnout agent --help`` recognises a processor by its
mark without loading the Kafka client.
"""

from turnout.agent.processors.contract import (
    INPUT_KEY,
    EmitError,
    Output,
    Outputs,
    is_processor,
    processor,
)

__all__ = ["INPUT_KEY", "EmitError", "Output", "Outputs", "is_processor", "processor"]
