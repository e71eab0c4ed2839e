# -*- Python -*-
# Runs the GoogleTest binary of test/unit as part of check-dla.
import os
import lit.formats

config.name = "DLA-Unit"
config.test_format = lit.formats.GoogleTest(".", "-tests")
config.test_source_root = os.path.join(config.dla_obj_root, "test", "unit")
config.test_exec_root = config.test_source_root
