"""The runtime every generated tuning script carries.

hyperasc bundles the source of this package, unchanged, into each script it
writes (see hyperasc/bundle.py). The script loads it as a package of its own,
under a private name in `sys.modules`, so none of its names mix with the
names of the user's model file. The same code can be imported and tested
here like any other package.

Rules for the modules here:
- They import the standard library, numpy and hyperopt, and each other with
  relative imports. Keras and TensorFlow are never imported at module level
  (the model file imports them; the runtime looks them up in sys.modules),
  and pymongo and pyspark only inside the functions that need them.
- Nothing in here is specific to one model file: the script passes what is
  (its parameters, its trial function) in a `Script`.
"""
