"""Save the fitted scaler next to the models (scikit-learn 0.19, Keras 2.1, 2018)."""
import numpy as np
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler
from sklearn.externals import joblib
from keras.models import Sequential
from keras.layers import Dense, Dropout
from keras.callbacks import ModelCheckpoint
from keras.utils import to_categorical

from hyperopt import Trials, STATUS_OK, tpe
from hyperas import optim
from hyperas.distributions import choice, uniform


def data():
    digits = load_digits()
    scaler = StandardScaler().fit(digits.data[:200])
    joblib.dump(scaler, 'scaler.pkl')
    x = scaler.transform(digits.data[:300])
    y = to_categorical(digits.target[:300], 10)
    return x[:200], y[:200], x[200:], y[200:]


def model(x_train, y_train, x_test, y_test):
    model = Sequential()
    model.add(Dense({{choice([32, 64])}}, activation='relu', input_dim=64))
    model.add(Dropout({{uniform(0, 0.5)}}))
    model.add(Dense(10, activation='softmax'))
    model.compile(loss='categorical_crossentropy', optimizer='adam', metrics=['accuracy'])
    checkpoint = ModelCheckpoint('model-{epoch:03d}.h5', monitor='val_loss', verbose=0,
                                 save_best_only=True, period=1)
    hist = model.fit(x_train, y_train, batch_size=32, epochs=1, verbose=2,
                     validation_data=(x_test, y_test), callbacks=[checkpoint])
    best_loss = np.Inf
    best_acc = 0.0
    for loss, acc in zip(hist.history['val_loss'], hist.history['val_acc']):
        if loss < best_loss:
            best_loss, best_acc = loss, acc
    return {'loss': -best_acc, 'status': STATUS_OK, 'model': model}


if __name__ == '__main__':
    best_run, best_model = optim.minimize(model=model, data=data, algo=tpe.suggest,
                                          max_evals=5, trials=Trials())
    print(best_run)
