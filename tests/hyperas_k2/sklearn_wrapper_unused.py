"""Grid search was too slow, so we moved to hyperas (2017). The wrapper import stayed."""
import numpy as np
from sklearn.datasets import load_digits
from sklearn.cross_validation import train_test_split
from sklearn.externals import joblib
from sklearn.preprocessing import StandardScaler

from keras.models import Sequential
from keras.layers import Dense, Dropout
from keras.wrappers.scikit_learn import KerasClassifier
from keras.utils.np_utils import to_categorical

from hyperopt import Trials, STATUS_OK, tpe
from hyperas import optim
from hyperas.distributions import choice, uniform


def data():
    digits = load_digits()
    X, y = digits.data[:300], digits.target[:300]
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.33, random_state=42)
    scaler = StandardScaler().fit(X_train)
    X_train = scaler.transform(X_train)
    X_test = scaler.transform(X_test)
    return X_train, to_categorical(y_train, 10), X_test, to_categorical(y_test, 10)


def create_model(X_train, Y_train, X_test, Y_test):
    model = Sequential()
    model.add(Dense({{choice([32, 64, 128])}}, activation='relu', input_dim=X_train.shape[1]))
    model.add(Dropout({{uniform(0, 0.5)}}))
    model.add(Dense(10, activation='softmax'))
    model.compile(loss='categorical_crossentropy', optimizer={{choice(['adam', 'rmsprop'])}},
                  metrics=['accuracy'])
    model.fit(X_train, Y_train, nb_epoch=1, batch_size={{choice([16, 32])}}, verbose=0)
    score, acc = model.evaluate(X_test, Y_test, verbose=0)
    return {'loss': -acc, 'status': STATUS_OK, 'model': model}


if __name__ == '__main__':
    best_run, best_model = optim.minimize(model=create_model, data=data,
                                          algo=tpe.suggest, max_evals=30, trials=Trials())
    print(best_run)
    joblib.dump(best_run, 'best_run.pkl')
