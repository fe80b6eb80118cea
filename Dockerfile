# llm-limiter admin server: REST API, dashboard, /metrics.
#   docker build -t llm-limiter/limiter-server .
#   docker run -e LIMITER_ADMIN_TOKEN=... -e LIMITER_REDIS_URL=redis://redis:6379 -p 7070:7070 llm-limiter/limiter-server

FROM maven:3.9-eclipse-temurin-17 AS build
WORKDIR /src
# Only poms and sources: never a local target/ directory. Every module's pom is needed by the reactor.
COPY pom.xml ./
COPY redis-scripts/pom.xml redis-scripts/
COPY limiter-client/pom.xml limiter-client/
COPY limiter-mock/pom.xml limiter-mock/
COPY limiter-server/pom.xml limiter-server/
COPY limiter-tools/pom.xml limiter-tools/
COPY limiter-okhttp/pom.xml limiter-okhttp/
COPY limiter-openai-java/pom.xml limiter-openai-java/
COPY limiter-anthropic-java/pom.xml limiter-anthropic-java/
COPY limiter-bench/pom.xml limiter-bench/
COPY limiter-langchain4j/pom.xml limiter-langchain4j/
COPY limiter-spring-boot-starter/pom.xml limiter-spring-boot-starter/
COPY redis-scripts/src redis-scripts/src
COPY limiter-client/src limiter-client/src
COPY limiter-mock/src limiter-mock/src
COPY limiter-server/src limiter-server/src
COPY limiter-tools/src limiter-tools/src
RUN mvn -B -q -pl limiter-tools -am -DskipTests package

FROM eclipse-temurin:17-jre
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin limiter \
    && mkdir -p /app/data && chown limiter /app/data
WORKDIR /app
COPY --from=build /src/limiter-tools/target/llm-limiter.jar /app/llm-limiter.jar
USER limiter
# Configs (llm_configs.json) and the audit log live here; mount a volume to keep them.
VOLUME /app/data
EXPOSE 7070
ENV JAVA_TOOL_OPTIONS="-XX:MaxRAMPercentage=75"
# No curl in this image: the jar itself asks /health, which is UP while Redis answers.
HEALTHCHECK --interval=15s --timeout=10s --start-period=30s --retries=3 \
    CMD ["java", "-Xmx32m", "-XX:TieredStopAtLevel=1", "-jar", "/app/llm-limiter.jar", "health-check", \
         "--url", "http://127.0.0.1:7070/health", "--timeout", "5s"]
# LIMITER_ADMIN_TOKEN and LIMITER_REDIS_URL come from the environment; without a token the server refuses to start.
ENTRYPOINT ["java", "-jar", "/app/llm-limiter.jar"]
CMD ["serve", "--port", "7070", "--config-file", "/app/data/llm_configs.json"]
