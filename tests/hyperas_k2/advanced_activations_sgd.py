from hyperopt import Trials, STATUS_OK, tpe
from hyperas import optim
from hyperas.distributions import choice, uniform

from sklearn.datasets import load_digits
from keras.models import Sequential
from keras.layers.core import Dense, Dropout
from keras.layers.normalization import BatchNormalization
from keras.layers.advanced_activations import LeakyReLU, PReLU
from keras.optimizers import SGD
from keras.callbacks import EarlyStopping
from keras.utils import np_utils


def data():
    digits = load_digits()
    X = digits.data[:300] / 16.
    Y = np_utils.to_categorical(digits.target[:300], 10)
    return X[:200], Y[:200], X[200:], Y[200:]


def model(X_train, Y_train, X_test, Y_test):
    model = Sequential()
    model.add(Dense({{choice([32, 64])}}, input_shape=(64,), init='he_normal'))
    model.add(BatchNormalization())
    model.add({{choice([LeakyReLU(alpha=0.1), PReLU()])}})
    model.add(Dropout({{uniform(0, 0.5)}}))
    model.add(Dense(10, activation='softmax'))
    sgd = SGD(lr={{choice([0.01, 0.05])}}, decay=1e-6, momentum=0.9, nesterov=True)
    model.compile(loss='categorical_crossentropy', optimizer=sgd, metrics=['accuracy'])
    early_stopping = EarlyStopping(monitor='val_acc', patience=2, mode='max')
    hist = model.fit(X_train, Y_train, batch_size=32, nb_epoch=1, verbose=2,
                     validation_split=0.2, callbacks=[early_stopping])
    score, acc = model.evaluate(X_test, Y_test, verbose=0)
    print('best val_acc', max(hist.history['val_acc']))
    return {'loss': -acc, 'status': STATUS_OK, 'model': model}


if __name__ == '__main__':
    best_run, best_model = optim.minimize(model=model, data=data, algo=tpe.suggest,
                                          max_evals=5, trials=Trials())
    print(best_run)
