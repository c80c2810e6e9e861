# WavBriVL on Hugging Face Spaces (Docker SDK) or any Docker host: the Gradio app on port 7860.
FROM python:3.11-slim

RUN apt-get update && apt-get install -y --no-install-recommends libsndfile1 \
    && rm -rf /var/lib/apt/lists/*

# Spaces run the container as user 1000; caches must live in folders that user can write.
RUN useradd -m -u 1000 user
ENV HOME=/home/user \
    PATH=/home/user/.local/bin:$PATH \
    GRADIO_ANALYTICS_ENABLED=False \
    MALLOC_ARENA_MAX=2 \
    GRADIO_SERVER_NAME=0.0.0.0 \
    GRADIO_SERVER_PORT=7860 \
    HF_HOME=/home/user/.cache/huggingface \
    NUMBA_CACHE_DIR=/home/user/.cache/numba \
    MPLCONFIGDIR=/home/user/.cache/matplotlib \
    GRADIO_TEMP_DIR=/home/user/.cache/gradio
WORKDIR /home/user/app

COPY --chown=user requirements-lock.txt .
RUN pip install --no-cache-dir -r requirements-lock.txt

COPY --chown=user . .
RUN pip install --no-cache-dir --no-deps -e . && mkdir -p $HF_HOME $NUMBA_CACHE_DIR $GRADIO_TEMP_DIR \
    && chown -R user /home/user
USER user

EXPOSE 7860
# Real weights: name them in wavbrivl.json, or set WAVBRIVL_PRESET=brivl and WAVBRIVL_IMAGE / WAVBRIVL_AUDIO /
# WAVBRIVL_VQGAN (paths or Hub ids) as variables (docs/spaces.md, "Hosting on Hugging Face Spaces").
CMD ["python", "app.py"]
