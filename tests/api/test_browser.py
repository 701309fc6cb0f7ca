"""The web page in a real browser: Debian's headless chromium, driven by selenium through
chromedriver, against the real server (with API keys on, so the page must ask for one)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.conftest import KEY
from tests.conftest import SAMPLE

pytestmark = [pytest.mark.api, pytest.mark.model, pytest.mark.browser]

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("Debian's chromium and chromium-driver are not installed (scripts/setup --with-browser installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,900"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def test_ask_see_the_answer_and_click_a_citation(browser: object, server: str, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    driver = browser
    wait = WebDriverWait(driver, 60)  # type: ignore[arg-type]
    driver.get(server + "/")  # type: ignore[attr-defined]

    # keys are configured: the page asks for one (the document list needs it) and keeps it
    dialog = wait.until(ec.visibility_of_element_located((By.ID, "key-dialog")))
    dialog.find_element(By.ID, "key-input").send_keys(KEY)
    dialog.find_element(By.CSS_SELECTOR, "button[value=save]").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "status"), "document(s)"))
    assert driver.execute_script("return localStorage.getItem('rag-cite-api-key')") == KEY  # type: ignore[attr-defined]

    question = driver.find_element(By.ID, "question")  # type: ignore[attr-defined]
    question.send_keys("客服可以解答哪些常见的技术问题?")
    question.send_keys(Keys.ENTER)
    cite = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, ".msg.assistant .cite")))
    answer = driver.find_element(By.CSS_SELECTOR, ".msg.assistant .text").text  # type: ignore[attr-defined]
    assert "技术问题" in answer and "[1]" in answer
    assert driver.find_elements(By.CSS_SELECTOR, ".msg.assistant ol.sources li")  # type: ignore[attr-defined]

    cite.click()
    mark = wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, "#viewer mark")))
    stored = SAMPLE.read_text(encoding="utf-8")
    title = cite.get_attribute("title")
    assert mark.text == title and mark.text in stored  # the highlighted span is the cited text
    viewer = driver.find_element(By.ID, "viewer").text  # type: ignore[attr-defined]
    assert len(viewer) > len(mark.text) * 3  # shown inside its document, not alone

    # a question the documents do not answer: a refusal without citations
    question.send_keys("今天比特币价格是多少?")
    question.send_keys(Keys.ENTER)
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".msg.assistant.abstained")) == 1)
    refused = driver.find_elements(By.CSS_SELECTOR, ".msg.assistant")[-1]  # type: ignore[attr-defined]
    assert not refused.find_elements(By.CSS_SELECTOR, ".cite")

    # upload a document from the page, then ask about it
    upload = tmp_path / "hours.txt"
    upload.write_text("The support desk is open from 9:00 to 18:00 on weekdays.\n", encoding="utf-8")
    driver.find_element(By.ID, "files").send_keys(str(upload))  # type: ignore[attr-defined]
    driver.find_element(By.ID, "upload").click()  # type: ignore[attr-defined]
    wait.until(ec.text_to_be_present_in_element((By.ID, "upload-status"), "hours.txt: added"))
    wait.until(ec.text_to_be_present_in_element((By.ID, "documents"), "hours.txt"))
    question.send_keys("When is the support desk open?")
    question.send_keys(Keys.ENTER)
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".msg.assistant")) == 3 and d.find_elements(By.CSS_SELECTOR, ".msg.assistant:last-child .cite"))
    last = driver.find_elements(By.CSS_SELECTOR, ".msg.assistant")[-1]  # type: ignore[attr-defined]
    assert "9:00" in last.text and "hours.txt" in last.text

    # remove it again through the page
    for item in driver.find_elements(By.CSS_SELECTOR, "#documents li"):  # type: ignore[attr-defined]
        if "hours.txt" in item.text:
            item.find_element(By.TAG_NAME, "button").click()
            driver.switch_to.alert.accept()  # type: ignore[attr-defined]
    wait.until(ec.text_to_be_present_in_element((By.ID, "upload-status"), "removed hours.txt"))
    logs = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]  # type: ignore[attr-defined]
    # the one error is the first, keyless request that made the page ask for the key
    assert len(logs) == 1 and "/v1/documents" in logs[0] and "401" in logs[0], logs


def test_a_language_model_answer_shows_its_unsupported_sentence_flagged(browser: object, tmp_path: Path) -> None:
    """A real uvicorn server in this process, with a scripted chat model whose second sentence its
    passage does not support: the page marks that sentence and keeps the supported one plain."""
    import itertools
    import threading

    import uvicorn
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    from api.app import create_app
    from api.state import Pipeline
    from rag.cli.factory import Factory, build_ingestor
    from rag.langchain_adapters import ChatModelGenerator
    from rag.settings import Settings
    from tests.conftest import HashEmbedder
    from tests.tools.server import free_port

    (tmp_path / "faq.txt").write_text("提现一般需要1个工作日到账。大额提现需要人工审核。\n", encoding="utf-8")
    settings = Settings(index_dir=tmp_path / "idx", generator="openai", llm_base_url="http://127.0.0.1:9/v1", llm_model="scripted")
    embedder = HashEmbedder()
    build_ingestor(settings, embedder=embedder).ingest([tmp_path / "faq.txt"])
    reply = AIMessage("提现一般需要1个工作日到账[1]。比特币的创始人是中本聪[1]。")
    llm = ChatModelGenerator(GenericFakeChatModel(messages=itertools.cycle([reply])), backend="scripted")
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings, pipeline=Pipeline(settings, Factory(settings, embedder=embedder, llm=llm))), port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        driver = browser
        wait = WebDriverWait(driver, 60)  # type: ignore[arg-type]
        wait.until(lambda _: server.started)
        driver.get(f"http://127.0.0.1:{port}/")  # type: ignore[attr-defined]
        question = driver.find_element(By.ID, "question")  # type: ignore[attr-defined]
        question.send_keys("提现需要多久?")
        question.send_keys(Keys.ENTER)
        flagged = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".msg.assistant .flagged"))
        assert [f.text for f in flagged] == ["比特币的创始人是中本聪。"]
        assert "not supported" in (flagged[0].get_attribute("title") or "")
        answer = driver.find_element(By.CSS_SELECTOR, ".msg.assistant").text  # type: ignore[attr-defined]
        assert "提现一般需要1个工作日到账" in answer and "answered by llm:scripted" in answer and "1 sentence(s) not supported" in answer
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_the_api_docs_render_offline(browser: object, server: str) -> None:
    """/docs loads Swagger UI from us (the fastapi-offline package), nothing from a CDN."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    driver = browser
    wait = WebDriverWait(driver, 60)  # type: ignore[arg-type]
    driver.get(server + "/docs")  # type: ignore[attr-defined]
    wait.until(ec.text_to_be_present_in_element((By.CSS_SELECTOR, ".information-container"), "rag-cite"))
    assert "/v1/chat/completions" in driver.find_element(By.ID, "swagger-ui").text  # type: ignore[attr-defined]
    loaded = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")  # type: ignore[attr-defined]
    assert loaded and all(url.startswith(server) for url in loaded), loaded
