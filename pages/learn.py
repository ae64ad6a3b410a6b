"""Learn: the concepts behind the networks, computed by dlcore — the survey's reference example,
activation functions, losses, a forward pass, back-propagation and optimizers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from dlcore.data.catalog import ensure_saved, find_dataset_by_source
from dlcore.errors import NotFoundError
from dlcore.plots.learn import plot_activations, plot_losses, plot_optimizer_paths
from dlcore.teach.concepts import (
    ACTIVATION_NAMES,
    SURFACES,
    TinyNetwork,
    activation_curves,
    loss_curves,
    optimizer_path,
    surface_grid,
)
from dlcore.teach.reference_example import SEED_NAME, reference_spec, seed_dataset
from dlcore.training.jobs import get_job, submit_training
from ui.auth import allowed, log, require_page
from ui.common import guard
from ui.jobs import POLL_SECONDS, job_panel

LEARN_JOB = "learn_seed_job"

account = require_page("learn")
may_train = allowed(account, "train")
st.title("Learn")
st.markdown(
    "The ideas behind every model in this app, computed live by the same engine: change a number "
    "and see what the network does with it."
)

example, activations, losses, forward, backward, optimizers = st.tabs(
    [
        "The survey's example",
        "Activation functions",
        "Loss functions",
        "Forward pass",
        "Back-propagation",
        "Gradient descent",
    ]
)

with example:
    st.markdown(
        "The survey's Keras example, run through this app's own training path: a network of "
        "**784 inputs → 512 ReLU → 256 ReLU → 10 softmax**, trained with **SGD** and **categorical "
        "cross-entropy** for **10 epochs** in batches of **128**."
    )
    st.code(
        "model = Sequential([Dense(512, activation='relu', input_shape=(784,)),\n"
        "                    Dense(256, activation='relu'),\n"
        "                    Dense(10, activation='softmax')])\n"
        "model.compile(optimizer='sgd', loss='categorical_crossentropy', metrics=['accuracy'])\n"
        "model.fit(x_train, y_train, epochs=10, batch_size=128)",
        language="python",
    )
    st.caption(
        "Clinically: the same kind of network reads a digitised image pixel by pixel — here handwritten digits that ship with scikit-learn, brought to 28×28."
    )
    if not may_train:
        st.info(
            f"Running the example trains a model, which the {account.role} role does not do; "
            "a trainer or an administrator can run it. The other tabs are open to everyone.",
            icon=":material/lock:",
        )
    upload = (
        st.file_uploader(
            "Optional: your own MNIST (the IDX files, gzipped or not, or one .npz)",
            accept_multiple_files=True,
            key="learn_mnist",
        )
        if may_train and allowed(account, "data")
        else None
    )
    if may_train and st.button("Run the example", type="primary", icon=":material/play_arrow:"):
        with guard("Starting the example"):
            if upload:
                from dlcore.data.images import read_mnist_idx, read_npz

                files = {f.name: f.getvalue() for f in upload}
                if len(files) == 1 and next(iter(files)).lower().endswith(".npz"):
                    name, data = next(iter(files.items()))
                    images = read_npz(data, name)
                else:
                    images = read_mnist_idx(files)
                dataset_id = ensure_saved(images)
            else:
                entry = find_dataset_by_source("demo:digits")
                dataset_id = entry.id if entry else ensure_saved(seed_dataset())
            job_id = submit_training(
                dataset_id,
                reference_spec(),
                name=SEED_NAME,
                actor=account,
                title="The survey's example (MLP, SGD)",
            )
            st.session_state[LEARN_JOB] = job_id
            log(
                "train",
                object_type="job",
                object_id=job_id,
                detail={"job_id": job_id, "dataset_id": dataset_id},
            )
            st.rerun()
    job_id = st.session_state.get(LEARN_JOB)
    if job_id:
        try:
            active = get_job(job_id).is_active
        except NotFoundError:  # deleted, or another workspace since: forget it
            st.session_state.pop(LEARN_JOB, None)
            job_id = None
    if job_id:
        with guard("Showing the example's training"):

            @st.fragment(run_every=POLL_SECONDS if active else None)
            def example_panel() -> None:
                job_panel(job_id, active)

            example_panel()

with activations:
    st.caption(
        "Clinically: the activation decides how a neuron responds to evidence — a threshold-like switch (ReLU) or a smooth, saturating one (sigmoid, tanh)."
    )
    chosen = st.multiselect("Functions", ACTIVATION_NAMES, default=["sigmoid", "tanh", "relu"])
    if chosen:
        with guard("Computing the activations"):
            curves = activation_curves(chosen)
            left, right = st.columns(2)
            left.plotly_chart(plot_activations(curves, chosen), key="activation_values")
            right.plotly_chart(
                plot_activations(curves, chosen, derivative=True), key="activation_derivatives"
            )
            st.caption(
                "The derivatives come from TensorFlow's automatic differentiation. Where f′ is near 0 (sigmoid and tanh far from 0, ReLU below 0) a neuron passes almost no error back: that is the vanishing gradient."
            )

with losses:
    st.caption(
        "Clinically: the loss is how training counts a wrong prediction — cross-entropy punishes a confident miss (a 1% risk for a patient who has the disease) much harder than squared error."
    )
    label = st.radio(
        "The true outcome",
        [1, 0],
        format_func=lambda v: "has the condition (1)" if v else "does not (0)",
        horizontal=True,
    )
    curves = loss_curves(int(label))
    st.plotly_chart(plot_losses(curves, int(label)), key="losses")
    worst = 0 if label == 1 else -1
    st.caption(
        f"At p = {curves['p'][worst]:.2f}: squared error {curves['mse'][worst]:.2f}, cross-entropy "
        f"{curves['cross_entropy'][worst]:.2f}; their gradients {curves['mse_gradient'][worst]:.1f} and {curves['cross_entropy_gradient'][worst]:.1f}."
    )

with forward:
    st.caption(
        "Clinically: a risk from two scaled measurements (say age and blood pressure) through three hidden neurons — every number of y = f(Wx + b) shown."
    )
    c1, c2, c3 = st.columns(3)
    x1 = c1.slider("x₁ (scaled age)", -2.0, 2.0, 1.0, 0.1, key="forward_x1")
    x2 = c2.slider("x₂ (scaled blood pressure)", -2.0, 2.0, 0.5, 0.1, key="forward_x2")
    activation = c3.selectbox(
        "Activation function f (how each neuron responds)",
        ["relu", "tanh", "sigmoid"],
        key="forward_activation",
    )
    network = TinyNetwork(activation=activation)
    values = network.forward(np.array([x1, x2]))
    st.markdown("**Hidden layer:** z = W₁ᵀx + b₁, a = f(z)")
    st.dataframe(
        pd.DataFrame(
            {
                "neuron": ["h1", "h2", "h3"],
                "w from x₁": network.w1[0],
                "w from x₂": network.w1[1],
                "bias b": network.b1,
                "z = W·x + b": values["z1"][0],
                f"a = {activation}(z)": values["a1"][0],
            }
        ),
        hide_index=True,
    )
    st.markdown(
        f"**Output:** z₂ = W₂ᵀa + b₂ = {values['z2'][0, 0]:.3f}; ŷ = sigmoid(z₂) = **{values['y_hat'][0, 0]:.3f}** "
        "(the predicted probability)."
    )

with backward:
    st.caption(
        "Clinically: learning is nudging every weight against its share of the error — the chain rule tells each weight its share."
    )
    c1, c2 = st.columns(2)
    y = c1.radio("True outcome y", [1.0, 0.0], horizontal=True, key="backward_y")
    rate = c2.select_slider("Learning rate", [0.01, 0.05, 0.1, 0.5, 1.0, 2.0], value=0.5)
    network = TinyNetwork(activation=st.session_state.get("forward_activation", "relu"))
    x = np.array([st.session_state.get("forward_x1", 1.0), st.session_state.get("forward_x2", 0.5)])
    st.caption(f"For the patient of the forward pass: x = ({x[0]:.1f}, {x[1]:.1f}).")
    with guard("Computing the gradients"):
        by_hand, by_tape = network.backward(x, y), network.tape_gradients(x, y)
        rows = []
        for name in ("w1", "b1", "w2", "b2"):
            for index, value in np.ndenumerate(by_hand[name].reshape(by_tape[name].shape)):
                rows.append(
                    {
                        "parameter": f"{name}{list(index)}",
                        "chain rule": float(value),
                        "GradientTape": float(by_tape[name][index]),
                    }
                )
        table = pd.DataFrame(rows)
        st.dataframe(table, hide_index=True)
        difference = float((table["chain rule"] - table["GradientTape"]).abs().max())
        st.success(
            f"The hand-written chain rule and TensorFlow's automatic differentiation agree to {difference:.1e}.",
            icon=":material/check_circle:",
        )
        stepped = network.step(x, y, rate)
        st.markdown(
            f"One gradient-descent step with learning rate {rate}: loss {network.loss(x, y):.4f} → **{stepped.loss(x, y):.4f}**."
        )

with optimizers:
    st.caption(
        "Clinically: every model here was fitted by walking downhill on a loss surface like these; the learning rate is the stride — too long a stride and the walk never settles."
    )
    c1, c2, c3 = st.columns(3)
    surface = c1.selectbox("Loss surface", list(SURFACES))
    st.caption(SURFACES[surface])
    chosen = c2.multiselect(
        "Optimizers", ["sgd", "momentum", "adam", "rmsprop"], default=["sgd", "momentum", "adam"]
    )
    rate = c3.select_slider(
        "Learning rate",
        [0.001, 0.003, 0.01, 0.03, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3],
        value=0.05,
        key="surface_rate",
    )
    noise = st.slider(
        "Gradient noise (stochastic mini-batches; 0 = full-batch gradient descent)",
        0.0,
        3.0,
        0.0,
        0.25,
    )
    steps = st.slider("Steps", 10, 300, 80, 10)
    with guard("Running the optimizers"):
        paths = {
            name: optimizer_path(name, surface, learning_rate=rate, steps=steps, noise=noise)
            for name in chosen
        }
        st.plotly_chart(plot_optimizer_paths(surface_grid(surface), paths), key="surface")
        diverged = [
            name
            for name, path in paths.items()
            if len(path["loss"]) < steps + 1 or path["loss"][-1] > path["loss"][0]
        ]
        if diverged:
            st.warning(
                f"{', '.join(diverged)} diverged or went uphill: the learning rate is too large for this surface.",
                icon=":material/warning:",
            )
