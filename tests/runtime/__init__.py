# A package, so that test modules here may share a name with one in tests/ (test_mongo.py, test_spark.py).
